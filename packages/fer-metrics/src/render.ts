import { createRequire } from 'node:module';
import { FerMetricsError } from './errors.js';
import { CHART_FONT, type VegaLiteSpec } from './charts.js';
import { checkFiniteNumber, checkKeys, describe } from './_validate.js';
import { renderSvg } from './svg.js';

/** Re-exported for modules that import both renderers from here. */
export { renderSvg };

/** Options of {@link renderPng}. */
export interface RenderPngOptions {
  /** Pixel density: PNG size = SVG size × scale. Default 2. */
  scale?: number;
  /** Font files (.ttf/.otf) to render text with; default DejaVu Sans regular and bold from the dejavu-fonts-ttf package. */
  fontFiles?: readonly string[];
  /** Family used for generic and unknown font names; default 'DejaVu Sans'. */
  defaultFontFamily?: string;
  /** CSS colour painted behind the chart; default: the chart's own background (white in vega-lite). */
  background?: string;
}

/**
 * Renders a vega-lite spec to PNG bytes: {@link renderSvg}, then resvg (a maintained Rust SVG rasterizer).
 * Text uses the bundled DejaVu Sans and no system fonts, so the same spec gives the same pixels everywhere.
 * @example
 * await writeFile('curves.png', await renderPng(trainingCurvesSpec({ history }), { scale: 2 }));
 */
export async function renderPng(spec: VegaLiteSpec, options: RenderPngOptions = {}): Promise<Uint8Array> {
  const fn = 'renderPng';
  checkKeys(fn, options, ['scale', 'fontFiles', 'defaultFontFamily', 'background']);
  const scale = options.scale === undefined ? 2 : checkFiniteNumber(fn, 'scale', options.scale, 0.05, 20);
  if (options.fontFiles !== undefined && (!Array.isArray(options.fontFiles) || options.fontFiles.some((f) => typeof f !== 'string'))) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: fontFiles is ${describe(options.fontFiles)}, expected an array of .ttf/.otf file paths.`);
  }
  const svg = await renderSvg(spec);
  const { Resvg } = await import('@resvg/resvg-js');
  const family = options.defaultFontFamily ?? CHART_FONT;
  try {
    const resvg = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: scale },
      font: {
        fontFiles: [...(options.fontFiles ?? defaultFontFiles())],
        loadSystemFonts: false,
        defaultFontFamily: family,
        sansSerifFamily: family,
        serifFamily: family,
        monospaceFamily: family,
      },
      logLevel: 'off',
      ...(options.background === undefined ? {} : { background: options.background }),
    });
    return new Uint8Array(resvg.render().asPng());
  } catch (e) {
    throw new FerMetricsError('E_RENDER', `${fn}: resvg could not rasterize the chart: ${(e as Error).message}. Check fontFiles and background.`, { cause: e });
  }
}

// --- Internal helpers ---

function defaultFontFiles(): string[] {
  const require = createRequire(import.meta.url);
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));
}
