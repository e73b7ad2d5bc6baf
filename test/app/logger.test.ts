import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../helpers/log.js';

describe('logger', () => {
  it('redacts secret-bearing fields and masks registered secrets anywhere in a line', () => {
    const token = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.bot-token-value';
    const { log, lines } = memoryLogger([token, 'sk-or-v1-secretsecret']);
    log.info({ apiKey: 'sk-or-v1-secretsecret', headers: { authorization: 'Bearer abc' } }, 'calling');
    log.error({ err: new Error(`login failed for ${token}`) }, 'oops');
    log.info(`url https://x/?key=sk-or-v1-secretsecret`);
    const all = lines.join('\n');
    expect(lines).toHaveLength(3);
    expect(all).not.toContain('sk-or-v1-secretsecret');
    expect(all).not.toContain(token);
    expect(all).not.toContain('Bearer abc');
    expect(JSON.parse(lines[0]!).apiKey).toBe('[redacted]');
  });

  it('masks webhook and interaction tokens in URLs, as a DiscordAPIError carries them', () => {
    const { log, lines } = memoryLogger();
    const err = Object.assign(new Error('Unknown Message'), {
      url: 'https://discord.com/api/v10/webhooks/123456789012345678/aW5zZWN1cmUtd2ViaG9vay10b2tlbg-xyz/messages/1',
    });
    log.warn({ err, callback: '/interactions/223456789012345678/aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0/callback' }, 'failed');
    expect(lines[0]).not.toContain('aW5zZWN1cmUtd2ViaG9vay10b2tlbg-xyz');
    expect(lines[0]).not.toContain('aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0');
    expect(lines[0]).toContain('/webhooks/123456789012345678/[redacted]/messages/1');
  });
});
