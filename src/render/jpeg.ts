/**
 * JPEG baseline for rendered frames asked for with Accept: image/jpeg, by jpeg-js (pure JS, no
 * dependencies, BSD-3-Clause): 8-bit grey or RGB rasters are expanded to RGBA and encoded at
 * quality 90. jpeg-js writes three YCbCr components; a grey frame stays grey (Cb = Cr = 128).
 */
import jpeg from "jpeg-js";
import type { RasterImage } from "./png.js";

export const JPEG_QUALITY = 90;

export function encodeJpeg(image: RasterImage): Buffer {
  const { width, height, channels, pixels } = image;
  if (pixels.length !== width * height * channels)
    throw new Error("raster size does not match its dimensions");
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0, o = 0; o < rgba.length; i += channels, o += 4) {
    rgba[o] = pixels[i]!;
    rgba[o + 1] = pixels[i + (channels === 3 ? 1 : 0)]!;
    rgba[o + 2] = pixels[i + (channels === 3 ? 2 : 0)]!;
    rgba[o + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width, height }, JPEG_QUALITY).data;
}
