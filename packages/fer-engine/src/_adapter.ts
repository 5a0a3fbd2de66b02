// WebGPU adapters, described the same way in Node (Dawn) and in a browser (navigator.gpu): what initBackend
// reports, and whether an adapter is a software one. Internal, and free of Node built-ins (the browser entry uses it).

/** What initBackend reports about a WebGPU adapter. */
export interface AdapterReport {
  /** Human-readable adapter name (Dawn's `description`, else `device`, else vendor + architecture). */
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  /** True for CPU implementations of Vulkan/WebGPU (lavapipe/llvmpipe, SwiftShader, WARP, ...). */
  isSoftware: boolean;
  /** Why the adapter counts as software (which field matched), when it does. */
  softwareReason?: string;
  /** The adapter's limits (GPUSupportedLimits as a plain object). */
  limits: Record<string, number>;
  /** The adapter's optional features. */
  features: string[];
}

// Minimal structural types of the WebGPU objects we touch, so that no DOM / @webgpu/types
// declarations leak into the public .d.ts.
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
export interface GpuDeviceLike {
  destroy(): void;
  readonly features: ReadonlySet<string>;
}
export interface GpuAdapterLike {
  readonly info?: GpuAdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
  readonly features: ReadonlySet<string>;
  readonly limits: object;
  requestDevice(desc?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<GpuDeviceLike>;
}
export interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

// Adapter strings of CPU (software) implementations. 'mesa' alone is not one: radv/anv/nvk are Mesa too.
const SOFTWARE_PATTERNS: readonly RegExp[] = [
  /llvmpipe/i, /lavapipe/i, /softpipe/i, /swiftshader/i, /\bswrast\b/i, /microsoft basic render/i,
  /\bwarp\b/i, /^software$/i, /\bcpu\b/i,
];

/**
 * Whether adapter info describes a software (CPU) implementation, and why.
 * Returns the reason, or undefined for a hardware adapter.
 */
export function softwareAdapterReason(info: GpuAdapterInfoLike, isFallbackAdapter?: boolean): string | undefined {
  if (isFallbackAdapter === true || info.isFallbackAdapter === true) return 'the WebGPU implementation marks it as a fallback (software) adapter';
  const fields: [string, string | undefined][] = [
    ['architecture', info.architecture], ['device', info.device], ['description', info.description], ['vendor', info.vendor],
  ];
  for (const [field, value] of fields) {
    if (!value) continue;
    for (const re of SOFTWARE_PATTERNS) {
      if (re.test(value)) return `its ${field} "${value}" names a software renderer`;
    }
  }
  return undefined;
}

/** The report of `adapter`: its name, vendor, limits and features, and whether it is a software one. */
export function adapterReport(adapter: GpuAdapterLike): AdapterReport {
  const info: GpuAdapterInfoLike = adapter.info ?? {};
  const limits: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as Record<string, unknown>)[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const softwareReason = softwareAdapterReason(info, adapter.isFallbackAdapter);
  return {
    name: info.description || info.device || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter',
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    isSoftware: softwareReason !== undefined,
    ...(softwareReason ? { softwareReason } : {}),
    limits,
    features: [...adapter.features].sort(),
  };
}

/** The first line of an error's message. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}
