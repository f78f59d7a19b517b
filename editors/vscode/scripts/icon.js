'use strict';
// Draws icons/emx.png, the 128x128 extension icon (the design of icons/emx.svg:
// an orbit around a ringed core), with no dependencies: shapes are sampled 4x4
// per pixel and the PNG is written with node:zlib. Run: node scripts/icon.js
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const SIZE = 128;
const SS = 4; // samples per pixel side
const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const BG = hex('#2b2250');
const ORBIT = hex('#a99cf2');
const WHITE = hex('#ffffff');
const ORANGE = hex('#f0a35e');

function roundedRect(x, y) {
  const [x0, y0, x1, y1, r] = [4, 4, 124, 124, 24];
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return x >= x0 && x <= x1 && y >= y0 && y <= y1 && (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function ring(x, y, cx, cy, r, width) {
  const d = Math.hypot(x - cx, y - cy);
  return Math.abs(d - r) <= width / 2;
}
function disc(x, y, cx, cy, r) {
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function orbit(x, y) {
  // Ellipse rx=50, ry=18 centred at 64,64 rotated by -30 degrees, stroke 5.
  const a = (30 * Math.PI) / 180;
  const dx = x - 64;
  const dy = y - 64;
  const u = dx * Math.cos(a) - dy * Math.sin(a);
  const v = dx * Math.sin(a) + dy * Math.cos(a);
  const inner = (u / 47.5) ** 2 + (v / 15.5) ** 2;
  const outer = (u / 52.5) ** 2 + (v / 20.5) ** 2;
  return outer <= 1 && inner >= 1;
}
function colourAt(x, y) {
  if (!roundedRect(x, y)) return null;
  if (disc(x, y, 103, 41, 7) || disc(x, y, 64, 64, 13)) return ORANGE;
  if (ring(x, y, 64, 64, 30, 6)) return WHITE;
  if (orbit(x, y)) return ORBIT;
  return BG;
}

const rows = [];
for (let py = 0; py < SIZE; py++) {
  const row = Buffer.alloc(1 + SIZE * 4); // filter byte 0, then RGBA
  for (let px = 0; px < SIZE; px++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const c = colourAt(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
        if (c) {
          acc[0] += c[0];
          acc[1] += c[1];
          acc[2] += c[2];
          acc[3] += 1;
        }
      }
    }
    const o = 1 + px * 4;
    if (acc[3] > 0) {
      row[o] = Math.round(acc[0] / acc[3]);
      row[o + 1] = Math.round(acc[1] / acc[3]);
      row[o + 2] = Math.round(acc[2] / acc[3]);
    }
    row[o + 3] = Math.round((255 * acc[3]) / (SS * SS));
  }
  rows.push(row);
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', zlib.deflateSync(Buffer.concat(rows), { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
fs.writeFileSync(path.join(__dirname, '..', 'icons', 'emx.png'), png);
