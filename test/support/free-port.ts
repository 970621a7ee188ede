// The demo finds free ports for its machines the way the tests do: one implementation.
export { freePort } from '../../demo/free-port';
