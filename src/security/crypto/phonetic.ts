/**
 * A phonetic key for Indian names, for "sounds like" search through a blind index (the key, never
 * the name, is HMACed with mode 'phonetic'). Spelling variants of one name give one key; names in
 * Indian scripts give the key of their common Latin spelling. Full description: docs/PHONETIC.md.
 *
 * Algorithm, per token (the name is split on anything that is not a letter or a combining mark):
 *
 *  1. Indian scripts (Devanagari, Bengali/Assamese, Gurmukhi, Gujarati, Oriya, Tamil, Telugu,
 *     Kannada, Malayalam) are transliterated to IAST with @indic-transliteration/sanscript after
 *     dropping the nukta (क़ ख़ ग़ ज़ फ़ ड़ ਸ਼ -> base letter; q/kh/g/z/f are merged below anyway).
 *     For the northern scripts (Devanagari, Bengali, Gurmukhi, Gujarati, Oriya) the inherent vowel
 *     is deleted where Hindi/Punjabi speakers drop it (a simplified Ohala rule): word-finally after a
 *     single consonant (राम -> rām), and then, right to left, in V C _ C V (ਸਰਮਾ -> sarmā,
 *     रहमान -> rahmān), so the result is spelled as people write it in Latin letters.
 *  2. IAST -> plain Latin as commonly written: ś ṣ -> sh, c -> ch (IAST c is च), jñ -> gy,
 *     ṛ -> ri, anusvara -> m before p/b/m, ng before h (सिंह -> singh), n elsewhere; other
 *     diacritics stripped. Latin input goes through the same step (without c -> ch).
 *  3. Known abbreviations are expanded: md/mohd/mohmd/mhd/muhd -> mohammad, kr -> kumar,
 *     pd -> prasad. Honorifics (mr, mrs, ms, dr, smt) are dropped when other tokens remain.
 *  4. Encoding, left to right: ch/chh -> c; sh -> s; ph -> f; kh gh jh th dh bh -> k g j t d b
 *     (aspiration dropped; retroflex and dental already merged by step 2); ck q -> k; c before
 *     e/i/y -> s, other c -> k; x -> ks; z -> j; w -> v. y and w followed by a vowel are
 *     consonants, otherwise vowels (Chowdhury, Vijay).
 *  5. Runs of vowels collapse to one, then doubled consonants collapse (Aggarwal, Mohammad), then
 *     every vowel except a word-initial one (kept as 'a') is dropped: the key is the consonant
 *     skeleton. Vowels are the least reliable part of Indian names in Latin letters (ee/i, oo/u,
 *     ou/au/ow, Mohammed/Muhammad), and dropping them also absorbs the inherent vowel written or not
 *     (Kamala/Kamla/कमला, Chaudhary/चौधरी, pronounced chaudhrī), final vowels (Krishn/Krishna,
 *     Joshi/Joshee), Punjabi and Tamil epenthesis (Surender/Surendra, Parkash/Prakash, கிருஷ்ணா) and
 *     the vowel moving around r (Agarwal/Agrawal/Aggarwal). Examples: Mohammad -> mhmd,
 *     Lakshmi -> lksm, Srinivas -> srnvs, Agarwal -> agrvl.
 *
 * Known limits: names that differ only in their vowels share a key (Ram/Rima/Roma, Manoj/Manju,
 * Sunil/Sonal): a phonetic match is a candidate list to be confirmed by other fields, never an
 * identification. Consonant differences are kept (Sharma/Verma, Mohan/Rohan, Singh/Sinha,
 * Gupta/Goyal), including voicing (Gupta/Kupta) by design. Tamil script has no voiced or aspirated
 * letters and ச is both ch and s, so Tamil-script names match their Latin spelling only when the
 * consonants agree (ஸ்ரீநிவாஸ், கிருஷ்ணா yes; சீனிவாசன் vs Srinivasan no). Anusvara before h is read
 * as ng (सिंह = Singh), so Narasimha in Latin differs from नरसिंह. Urdu/Arabic (and any other
 * non-Indic, non-Latin) script is out of scope: it contributes nothing ('' if nothing else).
 */
import sanscriptModule from '@indic-transliteration/sanscript';

/**
 * The part of sanscript we use. Its bundled types declare an ES default export, but the package is
 * CommonJS (`module.exports = Sanscript`), which Node's ESM loader hands over as the default import;
 * under NodeNext TypeScript types that as the module namespace, hence this narrow cast.
 */
interface SanscriptApi {
  t(data: string, from: string, to: string): string;
}
const Sanscript = sanscriptModule as unknown as SanscriptApi;

/** Unicode blocks of the Indian scripts handled, with the sanscript scheme and whether schwa deletion applies. */
const SCRIPTS: ReadonlyArray<{ from: number; to: number; scheme: string; north: boolean }> = [
  { from: 0x0900, to: 0x097f, scheme: 'devanagari', north: true },
  { from: 0x0980, to: 0x09ff, scheme: 'bengali', north: true },
  { from: 0x0a00, to: 0x0a7f, scheme: 'gurmukhi', north: true },
  { from: 0x0a80, to: 0x0aff, scheme: 'gujarati', north: true },
  { from: 0x0b00, to: 0x0b7f, scheme: 'oriya', north: true },
  { from: 0x0b80, to: 0x0bff, scheme: 'tamil_extended', north: false },
  { from: 0x0c00, to: 0x0c7f, scheme: 'telugu', north: false },
  { from: 0x0c80, to: 0x0cff, scheme: 'kannada', north: false },
  { from: 0x0d00, to: 0x0d7f, scheme: 'malayalam', north: false },
];

const NUKTA = /[\u093c\u09bc\u0a3c\u0abc\u0b3c\u0cbc]/g;
const TOKEN_SPLIT = /[^\p{L}\p{M}]+/u;

const ABBREVIATIONS: Readonly<Record<string, string>> = {
  md: 'mohammad',
  mohd: 'mohammad',
  mohmd: 'mohammad',
  mhd: 'mohammad',
  muhd: 'mohammad',
  kr: 'kumar',
  pd: 'prasad',
};
const HONORIFICS: ReadonlySet<string> = new Set(['mr', 'mrs', 'ms', 'dr', 'smt']);

/** The phonetic key of a name (space-separated keys of its tokens), or '' when nothing usable. */
export function indicPhonetic(name: string): string {
  return indicPhoneticTokens(name).join(' ');
}

/** The phonetic keys of a name's tokens, in order, without empty keys. */
export function indicPhoneticTokens(name: string): string[] {
  const tokens = name.normalize('NFC').replace(NUKTA, '').split(TOKEN_SPLIT).filter(Boolean);
  const latin = tokens.map(toLatin).filter((t) => t.length > 0);
  const words = latin.map((t) => ABBREVIATIONS[t] ?? t);
  const meaningful = words.filter((t) => !HONORIFICS.has(t));
  const out: string[] = [];
  for (const w of meaningful.length > 0 ? meaningful : words) {
    const k = encode(w);
    if (k) out.push(k);
  }
  return out;
}

function scriptOf(token: string): (typeof SCRIPTS)[number] | undefined {
  for (const ch of token) {
    const cp = ch.codePointAt(0) ?? 0;
    const s = SCRIPTS.find((x) => cp >= x.from && cp <= x.to);
    if (s) return s;
  }
  return undefined;
}

/** A token in any supported script -> lower-case a-z as commonly spelled. */
function toLatin(token: string): string {
  const script = scriptOf(token);
  let s: string;
  if (script) {
    s = Sanscript.t(token, script.scheme, 'iast').toLowerCase();
    if (script.north) s = deleteSchwa(s);
    s = s.replace(/c/g, 'ch'); // IAST c is च; ch is छ (-> chh)
  } else {
    s = token.toLowerCase();
  }
  s = s
    .replace(/m\u0310/g, 'n') // candrabindu
    .replace(/[ṃṁ](?=[pbm])/g, 'm')
    .replace(/[ṃṁ](?=h)/g, 'ng')
    .replace(/[ṃṁ]/g, 'n')
    .replace(/ḥ/g, '')
    .replace(/jñ/g, 'gy')
    .replace(/[śṣ]/g, 'sh')
    .replace(/[ṛṝ]/g, 'ri')
    .replace(/[ḷḹ]/g, 'li');
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[^a-z]/g, '');
}

// ---- schwa deletion on IAST (northern scripts) ----

const IAST_VOWELS = ['ai', 'au', 'a', 'ā', 'i', 'ī', 'u', 'ū', 'ṛ', 'ṝ', 'ḷ', 'ḹ', 'e', 'o'];
const ASPIRABLE = new Set(['k', 'g', 'c', 'j', 'ṭ', 'ḍ', 't', 'd', 'p', 'b']);

type Unit = { s: string; v: boolean };

function units(word: string): Unit[] {
  const chars = Array.from(word);
  const out: Unit[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    const two = c + (chars[i + 1] ?? '');
    if (two === 'ai' || two === 'au') {
      out.push({ s: two, v: true });
      i++;
    } else if (IAST_VOWELS.includes(c)) {
      out.push({ s: c, v: true });
    } else if (ASPIRABLE.has(c) && chars[i + 1] === 'h') {
      out.push({ s: two, v: false });
      i++;
    } else if (/\p{L}/u.test(c)) {
      out.push({ s: c, v: false }); // consonants, anusvara, visarga
    } else if (out.length > 0) {
      const last = out[out.length - 1] as Unit;
      last.s += c; // combining marks (candrabindu) stay on their letter
    }
  }
  return out;
}

/** Simplified Hindi schwa deletion (Ohala 1983), on one IAST word. */
export function deleteSchwa(word: string): string {
  return word
    .split(/(\s+)/)
    .map((w) => {
      const u = units(w);
      const isC = (i: number) => i >= 0 && i < u.length && !(u[i] as Unit).v;
      const isV = (i: number) => i >= 0 && i < u.length && (u[i] as Unit).v;
      const isSchwa = (i: number) => i >= 0 && i < u.length && (u[i] as Unit).s === 'a';
      const n = u.length;
      // Word-final schwa after a single consonant (not after a cluster: kṛṣṇa, āditya keep it).
      if (n >= 3 && isSchwa(n - 1) && isC(n - 2) && isV(n - 3)) u.pop();
      for (let i = u.length - 2; i >= 2; i--) {
        if (isSchwa(i) && isC(i - 1) && isV(i - 2) && isC(i + 1) && isV(i + 2)) u.splice(i, 1);
      }
      return u.map((x) => x.s).join('');
    })
    .join('');
}

// ---- encoding of plain Latin ----

const isVowel = (c: string | undefined) => c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u';
const V = '*';

function encode(w: string): string {
  const sym: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const c = w[i] as string;
    const n = w[i + 1];
    switch (c) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        sym.push(V);
        break;
      case 'y':
        sym.push(isVowel(n) ? 'y' : V);
        break;
      case 'w':
        sym.push(isVowel(n) ? 'v' : V);
        break;
      case 'c':
        if (n === 'h') {
          sym.push('c');
          i += w[i + 2] === 'h' ? 2 : 1;
        } else if (n === 'k') {
          sym.push('k');
          i++;
        } else sym.push(n === 'e' || n === 'i' || n === 'y' ? 's' : 'k');
        break;
      case 's':
        sym.push('s');
        if (n === 'h') i++;
        break;
      case 'p':
        if (n === 'h') {
          sym.push('f');
          i++;
        } else sym.push('p');
        break;
      case 'k':
      case 'g':
      case 'j':
      case 't':
      case 'd':
      case 'b':
        sym.push(c);
        if (n === 'h') i++;
        break;
      case 'q':
        sym.push('k');
        break;
      case 'x':
        sym.push('k', 's');
        break;
      case 'z':
        sym.push('j');
        break;
      default:
        sym.push(c);
    }
  }
  // Collapse vowel runs and doubled consonants (before vowels go, so Mamta and Mamata stay 'mmt').
  const runs: string[] = [];
  for (const x of sym) if (runs[runs.length - 1] !== x) runs.push(x);
  // The skeleton: an initial vowel is kept as 'a', every other vowel is dropped.
  const consonants = runs.filter((x) => x !== V).join('');
  if (runs[0] === V) return `a${consonants}`;
  return consonants;
}
