export { FakeClock, flushMicrotasks, Informer } from "../../../reconciler";
export { silentLogger as silentLoggerForTests } from "../../../lib/log";
