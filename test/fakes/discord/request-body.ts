import type { UploadedFile } from './types.js';

export interface ParsedBody {
  /** JSON body, or the `payload_json` part of a multipart body (undefined if none). */
  body: unknown;
  files: UploadedFile[];
  multipart: boolean;
  /** The body (or payload_json) was not valid JSON. */
  invalidJson: boolean;
}

/**
 * Parses what @discordjs/rest sends: JSON, or multipart/form-data with
 * `files[n]` parts and a `payload_json` part. Node's own fetch `Request`
 * parses multipart, so no dependency is needed.
 */
export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { body: undefined, files: [], multipart: false, invalidJson: false };
  const type = contentType?.toLowerCase() ?? '';
  if (type.startsWith('multipart/form-data')) return parseMultipart(raw, contentType ?? '');
  try {
    return { body: JSON.parse(raw.toString('utf8')), files: [], multipart: false, invalidJson: false };
  } catch {
    return { body: undefined, files: [], multipart: false, invalidJson: true };
  }
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<ParsedBody> {
  const form = await new Request('http://fake.invalid/', {
    method: 'POST',
    body: raw,
    headers: { 'content-type': contentType },
  }).formData();
  let body: unknown;
  let invalidJson = false;
  const extraFields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') {
        try {
          body = JSON.parse(value);
        } catch {
          invalidJson = true;
        }
      } else {
        extraFields[field] = value;
      }
      continue;
    }
    const data = Buffer.from(await value.arrayBuffer());
    files.push({
      field,
      filename: value.name,
      contentType: contentTypeFor(value.name, value.type),
      size: data.length,
      text: data.toString('utf8'),
      data,
    });
  }
  // Discord also accepts plain form fields in place of payload_json.
  if (body === undefined && Object.keys(extraFields).length > 0) body = extraFields;
  return { body, files, multipart: true, invalidJson };
}

const KNOWN_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
};

/** Discord records a media type from the file name when the client sends none (discord.js sends none). */
function contentTypeFor(filename: string, declared: string): string {
  if (declared && declared !== 'application/octet-stream') return declared;
  const extension = filename.split('.').pop()?.toLowerCase() ?? '';
  return KNOWN_TYPES[extension] ?? 'application/octet-stream';
}
