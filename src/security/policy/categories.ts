/**
 * What kind of information each FHIR resource type holds, as the access policy sees it. Types in
 * the R4 Patient compartment are a patient's record; they are sorted by the work that needs them
 * (registration, the visit, medicines, the laboratory, billing, and the rest: clinical). Types
 * outside the compartment are the hospital's directory and catalogues (practitioners,
 * departments, locations, medicines, code systems), except the audit trail.
 */
import { patientCompartmentTypes } from '../../fhir/compartment.js';

export type Category =
  /** Who the patient is: Patient, RelatedPerson. */
  | 'demographics'
  /** That a patient is, was or will be seen: appointments, encounters, episodes, flags. */
  | 'visit'
  /** Prescriptions, dispensing, administration. */
  | 'medication'
  /** Orders for tests, specimens, results and reports. */
  | 'laboratory'
  /** Accounts, charges, claims, coverage, invoices, payments. */
  | 'billing'
  /** Everything else in a patient's record: diagnoses, notes, allergies, procedures, care plans… */
  | 'clinical'
  /** Not about one patient: practitioners, departments, locations, catalogues, terminology. */
  | 'directory'
  /** The audit trail (AuditEvent), read from the tamper-evident log. */
  | 'audit';

const NAMED: Readonly<Record<string, Category>> = {
  Patient: 'demographics',
  RelatedPerson: 'demographics',
  Person: 'demographics',
  Appointment: 'visit',
  AppointmentResponse: 'visit',
  Encounter: 'visit',
  EpisodeOfCare: 'visit',
  Flag: 'visit',
  MedicationRequest: 'medication',
  MedicationDispense: 'medication',
  MedicationAdministration: 'medication',
  MedicationStatement: 'medication',
  ServiceRequest: 'laboratory',
  Specimen: 'laboratory',
  DiagnosticReport: 'laboratory',
  Observation: 'laboratory',
  ImagingStudy: 'laboratory',
  Account: 'billing',
  ChargeItem: 'billing',
  Claim: 'billing',
  ClaimResponse: 'billing',
  Coverage: 'billing',
  CoverageEligibilityRequest: 'billing',
  CoverageEligibilityResponse: 'billing',
  ExplanationOfBenefit: 'billing',
  Invoice: 'billing',
  PaymentNotice: 'billing',
  PaymentReconciliation: 'billing',
  AuditEvent: 'audit',
};

/** The category of an R4 resource type (the operation layer refuses names that are not one). */
export function categoryOf(type: string): Category {
  return NAMED[type] ?? (patientCompartmentTypes().has(type) ? 'clinical' : 'directory');
}
