// renderSvg apart from render.ts (resvg, a native addon, and font files on disk), so the browser entry has it.
import { FerMetricsError } from './errors.js';
import type { VegaLiteSpec } from './charts.js';
import { describe } from './_validate.js';

/**
 * Renders a vega-lite spec to an SVG string, headlessly (vega View with renderer 'none', then toSVG).
 * Nothing is printed: vega's and vega-lite's warnings are silenced. Data must be inline (`data.values`).
 * @example
 * await writeFile('confusion.svg', await renderSvg(confusionHeatmapSpec(report)));
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new FerMetricsError('E_BAD_OPTION', `renderSvg: got ${describe(spec)}, expected a vega-lite spec object (e.g. from confusionHeatmapSpec).`);
  }
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const silent = vega.logger(vega.None);
  let view: InstanceType<typeof vega.View> | undefined;
  try {
    const compiled = vl.compile(spec, { logger: silent }).spec;
    view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: silent, logLevel: vega.None });
    return await view.toSVG();
  } catch (e) {
    throw new FerMetricsError('E_RENDER', `renderSvg: vega could not render the spec: ${(e as Error).message}. Check the spec against the vega-lite v6 schema.`, { cause: e });
  } finally {
    view?.finalize();
  }
}
