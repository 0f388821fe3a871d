/** Indian addresses: cities with a few localities each (district and PIN code per locality). */

export interface Locality {
  readonly locality: string;
  readonly district: string;
  readonly pin: string;
}

export interface Place {
  readonly city: string;
  readonly state: string;
  readonly localities: readonly Locality[];
}

const L = (locality: string, district: string, pin: string): Locality => ({ locality, district, pin });

export const PLACES: Readonly<Record<string, Place>> = {
  delhi: {
    city: 'New Delhi',
    state: 'Delhi',
    localities: [
      L('Lajpat Nagar II', 'South East Delhi', '110024'),
      L('Rohini Sector 7', 'North West Delhi', '110085'),
      L('Mayur Vihar Phase 1', 'East Delhi', '110091'),
      L('Dwarka Sector 10', 'South West Delhi', '110075'),
      L('Karol Bagh', 'Central Delhi', '110005'),
      L('Jamia Nagar', 'South East Delhi', '110025'),
      L('Tilak Nagar', 'West Delhi', '110018'),
      L('Seelampur', 'North East Delhi', '110053'),
    ],
  },
  noida: {
    city: 'Noida',
    state: 'Uttar Pradesh',
    localities: [L('Sector 62', 'Gautam Buddha Nagar', '201309'), L('Sector 18', 'Gautam Buddha Nagar', '201301')],
  },
  gurugram: {
    city: 'Gurugram',
    state: 'Haryana',
    localities: [L('DLF Phase 3', 'Gurugram', '122002'), L('Sector 56', 'Gurugram', '122011')],
  },
  lucknow: {
    city: 'Lucknow',
    state: 'Uttar Pradesh',
    localities: [L('Gomti Nagar', 'Lucknow', '226010'), L('Aminabad', 'Lucknow', '226018'), L('Aliganj', 'Lucknow', '226024')],
  },
  kanpur: { city: 'Kanpur', state: 'Uttar Pradesh', localities: [L('Kidwai Nagar', 'Kanpur Nagar', '208011')] },
  jaipur: {
    city: 'Jaipur',
    state: 'Rajasthan',
    localities: [L('Malviya Nagar', 'Jaipur', '302017'), L('Vaishali Nagar', 'Jaipur', '302021')],
  },
  patna: { city: 'Patna', state: 'Bihar', localities: [L('Kankarbagh', 'Patna', '800020'), L('Boring Road', 'Patna', '800001')] },
  bhopal: { city: 'Bhopal', state: 'Madhya Pradesh', localities: [L('Arera Colony', 'Bhopal', '462016')] },
  varanasi: { city: 'Varanasi', state: 'Uttar Pradesh', localities: [L('Lanka', 'Varanasi', '221005')] },
  aligarh: { city: 'Aligarh', state: 'Uttar Pradesh', localities: [L('Civil Lines', 'Aligarh', '202001')] },
  srinagar: { city: 'Srinagar', state: 'Jammu and Kashmir', localities: [L('Rajbagh', 'Srinagar', '190008')] },
  hyderabad: {
    city: 'Hyderabad',
    state: 'Telangana',
    localities: [
      L('Charminar', 'Hyderabad', '500002'),
      L('Ameerpet', 'Hyderabad', '500016'),
      L('Kukatpally', 'Medchal-Malkajgiri', '500072'),
    ],
  },
  mumbai: {
    city: 'Mumbai',
    state: 'Maharashtra',
    localities: [L('Andheri East', 'Mumbai Suburban', '400069'), L('Dadar West', 'Mumbai City', '400028')],
  },
  pune: { city: 'Pune', state: 'Maharashtra', localities: [L('Kothrud', 'Pune', '411038'), L('Hadapsar', 'Pune', '411028')] },
  nagpur: { city: 'Nagpur', state: 'Maharashtra', localities: [L('Dharampeth', 'Nagpur', '440010')] },
  nashik: { city: 'Nashik', state: 'Maharashtra', localities: [L('College Road', 'Nashik', '422005')] },
  kolkata: {
    city: 'Kolkata',
    state: 'West Bengal',
    localities: [
      L('Behala', 'Kolkata', '700034'),
      L('Park Circus', 'Kolkata', '700017'),
      L('Salt Lake Sector V', 'North 24 Parganas', '700091'),
    ],
  },
  howrah: { city: 'Howrah', state: 'West Bengal', localities: [L('Shibpur', 'Howrah', '711102')] },
  siliguri: { city: 'Siliguri', state: 'West Bengal', localities: [L('Hakimpara', 'Darjeeling', '734001')] },
  chennai: {
    city: 'Chennai',
    state: 'Tamil Nadu',
    localities: [L('T. Nagar', 'Chennai', '600017'), L('Mylapore', 'Chennai', '600004'), L('Tambaram', 'Chengalpattu', '600045')],
  },
  madurai: { city: 'Madurai', state: 'Tamil Nadu', localities: [L('Anna Nagar', 'Madurai', '625020')] },
  coimbatore: { city: 'Coimbatore', state: 'Tamil Nadu', localities: [L('R. S. Puram', 'Coimbatore', '641002')] },
  tiruchirappalli: { city: 'Tiruchirappalli', state: 'Tamil Nadu', localities: [L('Srirangam', 'Tiruchirappalli', '620006')] },
  vijayawada: { city: 'Vijayawada', state: 'Andhra Pradesh', localities: [L('Benz Circle', 'NTR', '520010')] },
  visakhapatnam: { city: 'Visakhapatnam', state: 'Andhra Pradesh', localities: [L('MVP Colony', 'Visakhapatnam', '530017')] },
  guntur: { city: 'Guntur', state: 'Andhra Pradesh', localities: [L('Brodipet', 'Guntur', '522002')] },
  amritsar: { city: 'Amritsar', state: 'Punjab', localities: [L('Ranjit Avenue', 'Amritsar', '143001')] },
  ludhiana: { city: 'Ludhiana', state: 'Punjab', localities: [L('Model Town', 'Ludhiana', '141002')] },
  chandigarh: { city: 'Chandigarh', state: 'Chandigarh', localities: [L('Sector 22', 'Chandigarh', '160022')] },
  jalandhar: { city: 'Jalandhar', state: 'Punjab', localities: [L('Model Town', 'Jalandhar', '144003')] },
  kochi: { city: 'Kochi', state: 'Kerala', localities: [L('Kakkanad', 'Ernakulam', '682030'), L('Edappally', 'Ernakulam', '682024')] },
  thiruvananthapuram: { city: 'Thiruvananthapuram', state: 'Kerala', localities: [L('Pattom', 'Thiruvananthapuram', '695004')] },
  kottayam: { city: 'Kottayam', state: 'Kerala', localities: [L('Nagampadam', 'Kottayam', '686001')] },
  thrissur: { city: 'Thrissur', state: 'Kerala', localities: [L('Punkunnam', 'Thrissur', '680002')] },
  ahmedabad: {
    city: 'Ahmedabad',
    state: 'Gujarat',
    localities: [L('Navrangpura', 'Ahmedabad', '380009'), L('Maninagar', 'Ahmedabad', '380008')],
  },
  surat: { city: 'Surat', state: 'Gujarat', localities: [L('Adajan', 'Surat', '395009')] },
  vadodara: { city: 'Vadodara', state: 'Gujarat', localities: [L('Alkapuri', 'Vadodara', '390007')] },
  rajkot: { city: 'Rajkot', state: 'Gujarat', localities: [L('Kalawad Road', 'Rajkot', '360005')] },
  bengaluru: {
    city: 'Bengaluru',
    state: 'Karnataka',
    localities: [L('Jayanagar', 'Bengaluru Urban', '560041'), L('Whitefield', 'Bengaluru Urban', '560066')],
  },
  mysuru: { city: 'Mysuru', state: 'Karnataka', localities: [L('Kuvempunagar', 'Mysuru', '570023')] },
  mangaluru: { city: 'Mangaluru', state: 'Karnataka', localities: [L('Kadri', 'Dakshina Kannada', '575002')] },
  hubballi: { city: 'Hubballi', state: 'Karnataka', localities: [L('Vidyanagar', 'Dharwad', '580021')] },
};

/** Where patients of a Delhi hospital mostly come from. */
export const DELHI_NCR: readonly string[] = ['delhi', 'delhi', 'delhi', 'delhi', 'noida', 'gurugram'];

export function placeByKey(key: string): Place {
  const p = PLACES[key];
  if (!p) throw new Error(`no place '${key}'`);
  return p;
}
