// Realistic WhatsApp notification bodies (~1.2 KB) with a different message id in each.
import { randomBytes } from 'node:crypto';

function wamid() {
  return `wamid.HBgL${randomBytes(24).toString('base64url')}`;
}

/** A Meta envelope (one entry, one `messages` change) around these contacts and messages, as JSON text. */
export function metaEnvelope(contacts, messages) {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              contacts,
              messages,
            },
            field: 'messages',
          },
        ],
      },
    ],
  });
}

/** A Meta-envelope inbound text message padded to about 1.2 KB, like a real one with referral data. */
export function metaTextBody(i) {
  const ts = String(1_700_000_000 + i);
  return metaEnvelope(
    [{ profile: { name: `Customer ${i % 997}` }, wa_id: `1650555${String(i % 10_000).padStart(4, '0')}` }],
    [
      {
        from: `1650555${String(i % 10_000).padStart(4, '0')}`,
        id: wamid(),
        timestamp: ts,
        type: 'text',
        text: { body: `Hello, I would like to know the status of my order number ${100000 + i}. Thank you!` },
        context: { from: '15550783881', id: wamid() },
        referral: {
          source_url: 'https://fb.me/3cr4Wqqkv',
          source_id: '6587453619876',
          source_type: 'ad',
          body: 'Spring sale: everything 20% off this week only, ask us on WhatsApp for details.',
          headline: 'Spring sale',
          media_type: 'image',
          image_url: 'https://scontent.xx.fbcdn.net/v/t45.1600-4/1234567890_n.jpg?stp=dst-jpg&_nc_cat=1',
          ctwa_clid: 'ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a',
          welcome_message: { text: 'Hi there! Thanks for reaching out about the spring sale. How can we help you today?' },
        },
      },
    ],
  );
}
