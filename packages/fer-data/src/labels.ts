/**
 * The seven FER2013 classes, in label order (0 = Angry ... 6 = Neutral).
 * @example
 * EMOTIONS[ds.labels[0]] // 'Angry'
 */
export const EMOTIONS = ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral'] as const;
/** One of {@link EMOTIONS}. */
export type Emotion = (typeof EMOTIONS)[number];

/**
 * The three official FER2013 `Usage` values; `FerDataset.splits` holds an index into this tuple.
 * @example
 * SPLITS[ds.splits[i]] // 'Training'
 */
export const SPLITS = ['Training', 'PublicTest', 'PrivateTest'] as const;
/** One of {@link SPLITS}. */
export type SplitName = (typeof SPLITS)[number];

/**
 * The eight FER+ emotion classes in the column order of `fer2013new.csv`
 * (followed there by the `unknown` and `NF` = not-a-face columns).
 * @example
 * FERPLUS_EMOTIONS[7] // 'Contempt'
 */
export const FERPLUS_EMOTIONS = ['Neutral', 'Happiness', 'Surprise', 'Sadness', 'Anger', 'Disgust', 'Fear', 'Contempt'] as const;

/** Image side in pixels (FER2013 images are 48 x 48 gray). */
export const IMAGE_SIZE = 48;
/** Pixels per image: 48 * 48 = 2304. */
export const IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE;
/** Label value meaning "no label" (e.g. Kaggle `test.csv`, FER+ unknown rows kept). */
export const NO_LABEL = 255;
