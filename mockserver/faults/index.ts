import { ApiError } from '../errors';
import { cpuFault } from './cpu';
import { crashFault } from './crash';
import { diskFault } from './disk';
import { errorFault } from './error';
import { latencyFault } from './latency';
import { memoryFault } from './memory';
import { networkFault } from './network';
import { faultTypes, type FaultKind, type FaultType } from './types';

const kinds: Record<FaultType, FaultKind> = {
  cpu: cpuFault,
  memory: memoryFault,
  latency: latencyFault,
  error: errorFault,
  network: networkFault,
  disk: diskFault,
  crash: crashFault,
};

export function isFaultType(value: string): value is FaultType {
  return (faultTypes as readonly string[]).includes(value);
}

/** The implementation of `type`, or a 400 that names the parameter and the known types. */
export function faultKind(type: string): FaultKind {
  if (!isFaultType(type)) {
    throw new ApiError(
      400,
      'invalid_parameter',
      `invalid type: unknown fault type "${type}"; expected one of ${faultTypes.join(', ')}`,
      [{ parameter: 'type', message: `expected one of ${faultTypes.join(', ')}` }],
    );
  }
  return kinds[type];
}

export { faultTypes, type FaultType } from './types';
