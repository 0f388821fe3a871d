import { describe, expect, it } from 'vitest';
import { deleteSchwa, indicPhonetic, indicPhoneticTokens } from '../../src/security/crypto/phonetic.js';

/** Every spelling in a group must give the same, non-empty key (checked pairwise, both directions). */
const SAME: Array<[string, string[]]> = [
  ['Mohammad', ['Muhammad', 'Mohammed', 'Mohd', 'Md', 'Mohd.', 'MOHAMMAD', 'मोहम्मद', 'মোহাম্মদ']],
  ['Lakshmi', ['Laxmi', 'Lakshmee', 'लक्ष्मी', 'ലക്ഷ്മി']],
  ['Sharma', ['Sarma', 'sharma', 'शर्मा', 'শর্মা', 'ਸ਼ਰਮਾ', 'ଶର୍ମା']],
  ['Choudhary', ['Chaudhari', 'Chaudhary', 'Chowdhury', 'चौधरी']],
  ['Srinivas', ['Shrinivas', 'Sreenivas', 'Shreenivas', 'श्रीनिवास', 'శ్రీనివాస్', 'ஸ்ரீநிவாஸ்']],
  ['Krishna', ['Krishn', 'Krushna', 'कृष्ण', 'ಕೃಷ್ಣ', 'கிருஷ்ணா']],
  ['Venkatesh', ['Wenkatesh', 'वेंकटेश', 'வெங்கடேஷ்']],
  ['Joshi', ['Joshee', 'जोशी']],
  ['Agarwal', ['Agrawal', 'Aggarwal', 'अग्रवाल']],
  ['Khan', ['Kan', 'ख़ान']],
  ['Singh', ['सिंह', 'ਸਿੰਘ']],
  ['Gupta', ['गुप्ता', 'ગુપ્તા']],
  ['Rahman', ['Rehman', 'रहमान']],
  ['Kamla', ['Kamala', 'कमला']],
  ['Surendra', ['Surender', 'सुरेन्द्र']],
  ['Prakash', ['Parkash', 'प्रकाश']],
  ['Vijay', ['विजय']],
  ['Aditya', ['आदित्य']],
  ['Harjeet', ['ਹਰਜੀਤ']],
];

const DIFFERENT: Array<[string, string]> = [
  ['Sharma', 'Verma'],
  ['Mohan', 'Rohan'],
  ['Singh', 'Sinha'],
  ['Gupta', 'Goyal'],
  ['Kumar', 'Kaur'],
  ['Das', 'Dutta'],
  ['Reddy', 'Rao'],
  ['Patel', 'Pillai'],
  ['Mamta', 'Mita'],
  ['सिंह', 'सिन्हा'],
  ['शर्मा', 'वर्मा'],
];

describe('indicPhonetic', () => {
  for (const [head, rest] of SAME) {
    it(`${head} = ${rest.join(' = ')}`, () => {
      const all = [head, ...rest];
      const key = indicPhonetic(head);
      expect(key).not.toBe('');
      for (const a of all) for (const b of all) expect([a, indicPhonetic(a)]).toEqual([a, indicPhonetic(b)]);
      expect(all.map(indicPhonetic)).toEqual(all.map(() => key));
    });
  }

  for (const [a, b] of DIFFERENT) {
    it(`${a} != ${b}`, () => {
      expect(indicPhonetic(a)).not.toBe('');
      expect(indicPhonetic(b)).not.toBe('');
      expect(indicPhonetic(a)).not.toBe(indicPhonetic(b));
    });
  }

  it('gives the documented keys (so a change to the algorithm is a deliberate, re-indexing change)', () => {
    expect(indicPhonetic('Mohammad')).toBe('mhmd');
    expect(indicPhonetic('Lakshmi')).toBe('lksm');
    expect(indicPhonetic('Srinivas')).toBe('srnvs');
    expect(indicPhonetic('Agarwal')).toBe('agrvl');
    expect(indicPhonetic('Iyer')).toBe('ayr');
  });

  it('keys each token, expands abbreviations and drops honorifics', () => {
    expect(indicPhonetic('Rajesh Kr. Singh')).toBe(`${indicPhonetic('Rajesh')} ${indicPhonetic('Kumar')} ${indicPhonetic('Singh')}`);
    expect(indicPhoneticTokens('Mr. Md Salim')).toEqual([indicPhonetic('Mohammad'), indicPhonetic('Salim')]);
    expect(indicPhonetic('Dr')).not.toBe(''); // a name that is only an honorific is kept
    expect(indicPhonetic('मोहम्मद  सलीम')).toBe(indicPhonetic('Mohammad Salim'));
  });

  it("returns '' when nothing is usable, including out-of-scope Urdu/Arabic script", () => {
    expect(indicPhonetic('')).toBe('');
    expect(indicPhonetic('  ')).toBe('');
    expect(indicPhonetic('12345')).toBe('');
    expect(indicPhonetic('---')).toBe('');
    expect(indicPhonetic('محمد')).toBe('');
    expect(indicPhonetic('Ali محمد')).toBe(indicPhonetic('Ali'));
  });

  it('is insensitive to Unicode normalisation form and Latin diacritics', () => {
    const nfd = 'क़ुरैशी'.normalize('NFD');
    expect(indicPhonetic(nfd)).toBe(indicPhonetic('क़ुरैशी'.normalize('NFC')));
    expect(indicPhonetic('Lakṣmī')).toBe(indicPhonetic('Lakshmi'));
    expect(indicPhonetic('José')).toBe(indicPhonetic('Jose'));
  });
});

describe('deleteSchwa (northern scripts, on IAST)', () => {
  it('deletes the final and the V C _ C V inherent vowel, but not after a cluster', () => {
    expect(deleteSchwa('rāma')).toBe('rām');
    expect(deleteSchwa('kamalā')).toBe('kamlā');
    expect(deleteSchwa('saramā')).toBe('sarmā');
    expect(deleteSchwa('mohammada')).toBe('mohammad');
    expect(deleteSchwa('kṛṣṇa')).toBe('kṛṣṇa');
    expect(deleteSchwa('bharata')).toBe('bharat');
  });
});
