// Shapes of benchmark results shared by the runner and the report, so neither imports the other.

/** One synth measurement, as synth-worker reports it. */
export interface SynthSample {
  kind: 'cmek' | 'plain';
  n: number;
  validation: 'on' | 'off';
  constructMs: number;
  synthMs: number;
  totalMs: number;
  cpuMs: number;
  templateBytes: number;
  resources: number;
  peakHeapBytes: number;
  baselineHeapBytes: number;
  maxRssBytes: number;
}

/** One row of the synth table: a size and a validation setting, ours against plain aws-kms. */
export interface SynthRow {
  n: number;
  validation: 'on' | 'off';
  reps: number;
  cmekMs: number;
  plainMs: number;
  timeRatio: number;
  cmekCpuMs: number;
  plainCpuMs: number;
  cpuRatio: number;
  cmekPeakHeapMiB: number;
  plainPeakHeapMiB: number;
  heapRatio: number;
  cmekPeakRssMiB: number;
  plainPeakRssMiB: number;
  templateBytesPerKey: number;
  plainTemplateBytesPerKey: number;
  resourcesPerKey: number;
  plainResourcesPerKey: number;
  cpuShare: number;
}
