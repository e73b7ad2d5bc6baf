import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { SalonError } from '../src/domain/errors.js';
import { newShareToken, sharedPageUrl } from '../src/web/share-token.js';
import { descriptions, sharedReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Listed: 'listed',
} as const;

const share: Subcommand = {
  name: 'share',
  // The link is the salon's only key on the web: given to the one who asked, to pass on as they choose.
  ephemeral: true,
  define: (b) => b.setDescription(descriptions.share.summary).addBooleanOption((o) => o.setName(Option.Listed).setDescription(descriptions.share.listed)),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'share');
    assertCanControl(interaction, salon, 'share');
    if (!ctx.config.web.sharing) throw new SalonError({ code: 'sharing_off', reason: 'config' });
    if (!ctx.web) throw new SalonError({ code: 'sharing_off', reason: 'no_server' });
    const listed = interaction.options.getBoolean(Option.Listed) ?? false;
    const { share: shared, again } = await ctx.engine.share(salon.id, newShareToken(), listed);
    ctx.log.info({ salonId: salon.id, listed, again }, 'salon shared');
    await respond(interaction, { content: sharedReply({ url: sharedPageUrl(ctx.web.publicUrl, shared.token), listed, again }), ephemeral: true }, ctx.log);
  },
};

export default share;
