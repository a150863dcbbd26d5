export { EV, TraceBuffer } from './buffer.ts';
export { KERNEL_SITES, type KernelSite } from './kernel-functions.ts';
export { TraceRecorder, type TraceDetail, type TraceOptions, type TraceCounter, type TraceTask } from './recorder.ts';
export { toChromeTrace } from './perfetto.ts';
export { toFtrace } from './ftrace.ts';
export { vizData, stepEvents, SPAN_CLASSES, type VizData, type VizSeries, type StepEvent, type Stage } from './viz.ts';
export { describeEvent } from './ftrace.ts';
export { spanClass, comm, irqOf, napiDev, softirqName, type SpanClass } from './names.ts';
