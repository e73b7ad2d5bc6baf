import { randomBytes } from 'node:crypto';

/** A share token: 144 random bits, URL-safe (24 characters), and nothing else: no id, no time, no salon in it. */
export function newShareToken(): string {
  return randomBytes(18).toString('base64url');
}

/** The page of a salon shared under `token`. */
export function sharedPageUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/s/${token}`;
}
