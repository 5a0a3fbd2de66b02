// @fer/face: face detection (BlazeFace), alignment and 48x48 crops in the framing of FER2013. Browser-safe:
// no Node built-ins here (Node's model loader is the '@fer/face/node' entry).
export { createFaceDetector, cropFaces, cropFacePixels, FACE_DETECTOR_DEFAULTS, CROP_DEFAULTS } from './detector.js';
export type { Face, FaceKeypoints, Point, FaceDetector, FaceDetectorOptions, CropOptions } from './detector.js';
export type { FaceImage, PixelImage, LumaName } from './_image.js';
export { LUMA } from './_image.js';
export {
  generateAnchors, decodeDetections, nonMaxSuppression, iou, overlapOfSmaller, BLAZEFACE_INPUT_SIZE, BLAZEFACE_ANCHORS, BLAZEFACE_VALUES,
} from './_blazeface.js';
export type { RawDetection } from './_blazeface.js';
export { FerFaceError } from './errors.js';
export type { FerFaceErrorCode } from './errors.js';
