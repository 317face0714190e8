import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { decodeForPublishing, frameOf } from '../pipeline/decode.js';
import { DEFAULT_FACE_MIN_PX, DEFAULT_MAX_EDGE, DEFAULT_MIN_SCORE, detectFaces, minFaceHeightFor } from '../pipeline/faces.js';
import { checkHeader, checkSize, DEFAULT_LIMITS, readHeader } from '../pipeline/limits.js';
import { sniffFormat } from '../pipeline/sniff.js';
import type { DetectedFace, RawImage } from '../pipeline/types.js';
import { EXIT, line, parseNumber, reportFailure, UsageError, type CommandIO } from './io.js';

export const DETECT_USAGE = `Usage: veil detect IMAGE... [--json] [--min-score S] [--max-edge N] [--face-min-px N] [--model FILE]

Lists the faces Veil finds in each image, in pixels of the upright original.

By default these are exactly the faces Veil acts on: scored at least ${DEFAULT_MIN_SCORE}, and at least
--face-min-px (default ${DEFAULT_FACE_MIN_PX}) pixels tall once the image is shrunk to --max-edge (default ${DEFAULT_MAX_EDGE}).

Options:
      --json            one JSON line per image: {"file", "width", "height", "faces": [{"box": [x, y, w, h], "score"}]}
      --min-score S     list every candidate scoring S (0..1) or more, e.g. to draw a precision-recall curve
      --max-edge N      long edge of the published image, in pixels (default ${DEFAULT_MAX_EDGE})
      --face-min-px N   smallest face that matters in the published image, in pixels (default ${DEFAULT_FACE_MIN_PX})
      --model FILE      ONNX face model (default: the one shipped with Veil)
Exit status: 0 every image was read, 1 some could not be, 2 usage error.`;

export async function detectCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'min-score': { type: 'string' },
      'max-edge': { type: 'string' },
      'face-min-px': { type: 'string' },
      model: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('name at least one image to look for faces in');
  const minScore = parseNumber('--min-score', values['min-score'], 0, 1) ?? DEFAULT_MIN_SCORE;
  const maxEdge = parseNumber('--max-edge', values['max-edge'], 16, 100_000) ?? DEFAULT_MAX_EDGE;
  const faceMinPx = parseNumber('--face-min-px', values['face-min-px'], 1, 10_000) ?? DEFAULT_FACE_MIN_PX;

  let failed = 0;
  for (const file of positionals) {
    try {
      const image = await decodeUpright(await readFile(file));
      const faces = await detectFaces(image, {
        minScore,
        minFaceHeight: minFaceHeightFor(image.width, image.height, maxEdge, faceMinPx),
        ...(values.model ? { modelPath: values.model } : {}),
      });
      if (values.json) {
        line(io.stdout, JSON.stringify({ file, width: image.width, height: image.height, faces: faces.map(roundScore) }));
      } else {
        const list = faces.map((f) => `[${f.box.join(', ')}] ${f.score.toFixed(2)}`).join('; ');
        line(io.stdout, `${file}: ${image.width}×${image.height}, ${faces.length} face${faces.length === 1 ? '' : 's'}${list ? `: ${list}` : ''}`);
      }
    } catch (err) {
      failed += 1;
      reportFailure(io, Boolean(values.json), file, err);
    }
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

/**
 * The whole image, upright, as the pipeline decodes it (same format sniffing, limits, colour
 * handling and HEIC support); an animation's first frame.
 */
async function decodeUpright(bytes: Uint8Array): Promise<RawImage> {
  const limits = { ...DEFAULT_LIMITS, maxBytes: Math.max(DEFAULT_LIMITS.maxBytes, bytes.length) };
  checkSize(bytes, limits);
  const header = await readHeader(bytes, sniffFormat(bytes));
  checkHeader(header, limits);
  return frameOf(await decodeForPublishing(bytes, header, Number.POSITIVE_INFINITY, limits), 0);
}

function roundScore(face: DetectedFace): DetectedFace {
  return { box: face.box, score: Math.round(face.score * 10_000) / 10_000 };
}
