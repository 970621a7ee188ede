import { useEffect, useRef, useState } from 'preact/hooks';

export interface Resource<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  /** Loads again now (after an action, say). */
  reload: () => void;
}

export interface ResourceOptions<T> {
  /** Loads again this long after each answer, while `keepPolling` says so. */
  intervalMs?: number;
  keepPolling?: (data: T) => boolean;
}

/**
 * Data from the api for a component: loaded when `deps` change, then again every `intervalMs`
 * while `keepPolling(data)` holds (after an error too: the api may be back). The next load is
 * scheduled when the last one ended, so slow answers never pile up.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: ResourceOptions<T> = {},
): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  // The latest callbacks, without restarting the polling each render.
  const latest = useRef({ load, options });
  latest.current = { load, options };

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (again: boolean) => {
      const interval = latest.current.options.intervalMs;
      if (again && interval !== undefined && !controller.signal.aborted) {
        timer = setTimeout(() => void run(), interval);
      }
    };
    const run = async () => {
      try {
        const data = await latest.current.load(controller.signal);
        if (controller.signal.aborted) return;
        setState({ data, loading: false });
        schedule(latest.current.options.keepPolling?.(data) ?? true);
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((previous) => ({
          ...previous,
          error: error instanceof Error ? error : new Error(String(error)),
          loading: false,
        }));
        schedule(true);
      }
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
    // The caller names what the load depends on, as with useEffect.
  }, [...deps, generation]);

  return { ...state, reload: () => setGeneration((value) => value + 1) };
}
