/**
 * Test helper: a plain reference of torchvision's `Resize(..., BILINEAR, antialias=True)` (the
 * same separable triangle filter PIL's BILINEAR reduce uses, its support widened by the scale
 * factor), computed in float64 on interleaved 8-bit RGB, rounded once at the end.
 *
 * @module
 */

function weights(inSize: number, outSize: number): { start: number[]; w: Float64Array[] } {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1);
  const start: number[] = [];
  const w: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const ws = new Float64Array(xmax - xmin);
    let sum = 0;
    for (let j = 0; j < ws.length; j++) {
      const x = (j + xmin - center + 0.5) / support;
      ws[j] = Math.max(0, 1 - Math.abs(x));
      sum += ws[j];
    }
    for (let j = 0; j < ws.length; j++) ws[j] /= sum;
    start.push(xmin);
    w.push(ws);
  }
  return { start, w };
}

/** Resizes interleaved RGB `src` (w x h) to `ow x oh`; returns interleaved RGB uint8. */
export function referenceResize(
  src: Uint8Array,
  w: number,
  h: number,
  ow: number,
  oh: number,
): Uint8Array {
  const hx = weights(w, ow);
  const tmp = new Float64Array(ow * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      const ws = hx.w[x];
      const s = hx.start[x];
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let j = 0; j < ws.length; j++) acc += ws[j] * src[(y * w + s + j) * 3 + c];
        tmp[(y * ow + x) * 3 + c] = acc;
      }
    }
  }
  const vy = weights(h, oh);
  const out = new Uint8Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) {
    const ws = vy.w[y];
    const s = vy.start[y];
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let j = 0; j < ws.length; j++) acc += ws[j] * tmp[((s + j) * ow + x) * 3 + c];
        out[(y * ow + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(acc)));
      }
    }
  }
  return out;
}

/** Crops interleaved RGB. */
export function crop(
  src: Uint8Array,
  w: number,
  left: number,
  top: number,
  cw: number,
  ch: number,
): Uint8Array {
  const out = new Uint8Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) {
    out.set(src.subarray(((top + y) * w + left) * 3, ((top + y) * w + left + cw) * 3), y * cw * 3);
  }
  return out;
}
