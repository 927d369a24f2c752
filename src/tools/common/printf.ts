/**
 * C printf for the tools' output lines, so format strings read exactly as
 * the reference prints them. Supports the conversions the tools use:
 *
 *   %[flags][width][.precision][length]conversion
 *   flags       '-' left-justify, '0' zero-pad, '+' and ' ' sign
 *   length      hh h l ll z j t L (accepted; integers are 64-bit)
 *   conversion  d i (signed), u (unsigned 64-bit), f (fixed, glibc
 *               rounding), s, c, and %% for a percent sign
 *
 * Integer arguments may be numbers (truncated toward zero) or bigints.
 */
import { cfmt } from '../oping/stats.js';

const SPEC = /%([-0+ ]*)(\d+)?(?:\.(\d*))?(?:hh|h|ll|l|z|j|t|L)?([diufsc%])/g;

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  const n = Number(v);
  if (!Number.isFinite(n)) return 0n;
  return BigInt(Math.trunc(n));
}

function pad(body: string, width: number, flags: string, numeric: boolean): string {
  if (body.length >= width) return body;
  if (flags.includes('-')) return body.padEnd(width);
  if (numeric && flags.includes('0') && /^[-+ ]?[0-9]/.test(body)) {
    const sign = /^[-+ ]/.test(body) ? body[0]! : '';
    return sign + body.slice(sign.length).padStart(width - sign.length, '0');
  }
  return body.padStart(width);
}

function signed(body: string, flags: string): string {
  if (body.startsWith('-') || body === 'nan' || body === 'inf' || body === '-inf') return body;
  if (flags.includes('+')) return `+${body}`;
  if (flags.includes(' ')) return ` ${body}`;
  return body;
}

/** Formats `args` by `fmt` as C's printf would (the subset above). */
export function sprintf(fmt: string, ...args: unknown[]): string {
  let i = 0;
  return fmt.replace(SPEC, (_m, flags: string, w: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const width = w === undefined ? 0 : Number(w);
    const arg = args[i++];
    switch (conv) {
      case 'd':
      case 'i':
        return pad(signed(BigInt.asIntN(64, toBigInt(arg)).toString(), flags), width, flags, true);
      case 'u':
        return pad(BigInt.asUintN(64, toBigInt(arg)).toString(), width, flags, true);
      case 'f': {
        const p = prec === undefined ? 6 : prec === '' ? 0 : Number(prec);
        return pad(signed(cfmt(Number(arg), p), flags), width, flags, Number.isFinite(Number(arg)));
      }
      case 'c':
        return pad(typeof arg === 'number' ? String.fromCharCode(arg) : String(arg ?? '').slice(0, 1), width, flags, false);
      default: {
        let s = String(arg ?? '(null)');
        if (prec !== undefined) s = s.slice(0, prec === '' ? 0 : Number(prec));
        return pad(s, width, flags, false);
      }
    }
  });
}
