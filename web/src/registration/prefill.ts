import type { RegistrationForm } from './form.js';
import type { SearchCriteria } from './search.js';

/** What a search already says about the person (a new registration starts from it: nothing is typed twice). */
export function prefillFrom(c: SearchCriteria): Partial<RegistrationForm> {
  const out: { -readonly [K in keyof RegistrationForm]?: RegistrationForm[K] } = {};
  const name = c.name.trim().split(/\s+/).filter(Boolean);
  if (name.length > 0 && !/[^\p{Script=Latin}\s.'-]/u.test(c.name)) {
    out.given = name.length > 1 ? name.slice(0, -1).join(' ') : (name[0] ?? '');
    if (name.length > 1) out.family = name[name.length - 1] ?? '';
  } else if (name.length > 0) {
    out.nativeName = c.name.trim();
  }
  if (c.phone.trim()) out.phone = c.phone.trim();
  if (c.abha.trim() && !c.abha.includes('@')) out.abhaNumber = c.abha.trim();
  if (c.abha.includes('@')) out.abhaAddress = c.abha.trim();
  return out;
}
