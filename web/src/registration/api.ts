/** Registering a patient: the hospital workflow at POST /hospital/registration (src/http/registration.ts). */
import type { Patient } from '@medplum/fhirtypes';
import { post } from '../api/http.js';

export async function registerPatient(p: Patient): Promise<Patient & { id: string }> {
  return (await post<Patient & { id: string }>('/hospital/registration', p)).body;
}
