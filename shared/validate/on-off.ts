// A switch written `on` or `off` (a service meta key, a flag), refused with the field's name.
import { refused, valid, type Checked } from './result.js';

export function checkOnOff(field: string, raw: string): Checked<boolean> {
  const text = raw.trim();
  if (text !== 'on' && text !== 'off') return refused(field, `${JSON.stringify(text)}: on or off`);
  return valid(text === 'on');
}
