// What the page computes per frame and its state (window.ferDemo), shared with test/page.test.ts (which type-checks this file under Node's module
// resolution; main.ts itself imports the packages' browser entries).
import type { Face } from '@fer/face';

/** One analysed frame: each face's box (picture pixels) and probabilities (in the model's class order). */
export interface FrameResult {
  width: number;
  height: number;
  faces: { box: Face['box']; score: number; probabilities: number[] }[];
  ms: number;
}

/** The page's state, exposed as `window.ferDemo`. */
export interface DemoState {
  ready: boolean;
  error: string | null;
  backend: string | null;
  classNames: string[];
  frames: number;
  busy: boolean;
  source: 'photo' | 'webcam' | null;
  last: FrameResult | null;
}

declare global {
  interface Window {
    ferDemo: DemoState;
  }
}
