/**
 * Name pools for synthetic patients, by community, each name with its spelling in the
 * community's script. Spelling variants (Mohammad/Muhammad/Mohd, Lakshmi/Laxmi,
 * Choudhary/Chaudhary/Chaudhari/Chowdhury, Sharma/Sarma) occur on purpose, so that
 * variant-tolerant name search has something to find.
 */

/** [Latin spelling, spelling in the community's script] */
export type Name = readonly [latin: string, native: string];

export interface Community {
  readonly id: string;
  /** BCP-47 language tag of the native-script name. */
  readonly language: string;
  readonly languageDisplay: string;
  /** ISO 15924 script of the native name. */
  readonly script: string;
  readonly weight: number;
  readonly male: readonly Name[];
  readonly female: readonly Name[];
  readonly family: readonly Name[];
  /** Keys into PLACES where the community mostly lives (besides Delhi NCR). */
  readonly homes: readonly string[];
  /** Tamil practice: no family name; the father's given name stands in (after the given name). */
  readonly patronymic?: boolean;
  /** Sikh practice: 'Singh' / 'Kaur' after the given name. */
  readonly sikh?: boolean;
  /** Muslim practice: 'Mohammad' & co. are followed by a second given name. */
  readonly prefixNames?: readonly string[];
}

export const COMMUNITIES: readonly Community[] = [
  {
    id: 'hindi',
    language: 'hi',
    languageDisplay: 'Hindi',
    script: 'Deva',
    weight: 34,
    male: [
      ['Rahul', 'राहुल'],
      ['Amit', 'अमित'],
      ['Suresh', 'सुरेश'],
      ['Rajesh', 'राजेश'],
      ['Vikram', 'विक्रम'],
      ['Arjun', 'अर्जुन'],
      ['Manoj', 'मनोज'],
      ['Sanjay', 'संजय'],
      ['Deepak', 'दीपक'],
      ['Ramesh', 'रमेश'],
      ['Aarav', 'आरव'],
      ['Vivaan', 'विवान'],
      ['Ravi', 'रवि'],
      ['Ankit', 'अंकित'],
      ['Harish', 'हरीश'],
    ],
    female: [
      ['Priya', 'प्रिया'],
      ['Sunita', 'सुनीता'],
      ['Anjali', 'अंजलि'],
      ['Pooja', 'पूजा'],
      ['Neha', 'नेहा'],
      ['Kavita', 'कविता'],
      ['Lakshmi', 'लक्ष्मी'],
      ['Laxmi', 'लक्ष्मी'],
      ['Meena', 'मीना'],
      ['Ananya', 'अनन्या'],
      ['Saanvi', 'सान्वी'],
      ['Rekha', 'रेखा'],
      ['Geeta', 'गीता'],
      ['Savita', 'सविता'],
    ],
    family: [
      ['Sharma', 'शर्मा'],
      ['Verma', 'वर्मा'],
      ['Gupta', 'गुप्ता'],
      ['Yadav', 'यादव'],
      ['Singh', 'सिंह'],
      ['Choudhary', 'चौधरी'],
      ['Chaudhary', 'चौधरी'],
      ['Mishra', 'मिश्रा'],
      ['Tiwari', 'तिवारी'],
      ['Agarwal', 'अग्रवाल'],
      ['Pandey', 'पांडेय'],
      ['Kumar', 'कुमार'],
      ['Srivastava', 'श्रीवास्तव'],
      ['Rawat', 'रावत'],
    ],
    homes: ['delhi', 'delhi', 'noida', 'gurugram', 'lucknow', 'kanpur', 'jaipur', 'patna', 'bhopal', 'varanasi'],
  },
  {
    id: 'marathi',
    language: 'mr',
    languageDisplay: 'Marathi',
    script: 'Deva',
    weight: 6,
    male: [
      ['Sachin', 'सचिन'],
      ['Mahesh', 'महेश'],
      ['Ganesh', 'गणेश'],
      ['Prasad', 'प्रसाद'],
      ['Omkar', 'ओंकार'],
      ['Siddharth', 'सिद्धार्थ'],
      ['Tushar', 'तुषार'],
    ],
    female: [
      ['Snehal', 'स्नेहल'],
      ['Madhuri', 'माधुरी'],
      ['Ashwini', 'अश्विनी'],
      ['Pallavi', 'पल्लवी'],
      ['Laxmi', 'लक्ष्मी'],
      ['Sayali', 'सायली'],
      ['Vaishali', 'वैशाली'],
    ],
    family: [
      ['Patil', 'पाटील'],
      ['Deshmukh', 'देशमुख'],
      ['Kulkarni', 'कुलकर्णी'],
      ['Jadhav', 'जाधव'],
      ['Joshi', 'जोशी'],
      ['Chaudhari', 'चौधरी'],
      ['Pawar', 'पवार'],
      ['Shinde', 'शिंदे'],
    ],
    homes: ['mumbai', 'pune', 'nagpur', 'nashik'],
  },
  {
    id: 'bengali',
    language: 'bn',
    languageDisplay: 'Bengali',
    script: 'Beng',
    weight: 8,
    male: [
      ['Sourav', 'সৌরভ'],
      ['Arindam', 'অরিন্দম'],
      ['Subhas', 'সুভাষ'],
      ['Debashis', 'দেবাশিস'],
      ['Anirban', 'অনির্বাণ'],
      ['Partha', 'পার্থ'],
      ['Tapas', 'তাপস'],
    ],
    female: [
      ['Moumita', 'মৌমিতা'],
      ['Rupa', 'রূপা'],
      ['Sraboni', 'শ্রাবণী'],
      ['Tanushree', 'তনুশ্রী'],
      ['Ishita', 'ইশিতা'],
      ['Lakshmi', 'লক্ষ্মী'],
      ['Mousumi', 'মৌসুমী'],
    ],
    family: [
      ['Banerjee', 'ব্যানার্জি'],
      ['Chatterjee', 'চ্যাটার্জি'],
      ['Mukherjee', 'মুখার্জি'],
      ['Das', 'দাস'],
      ['Ghosh', 'ঘোষ'],
      ['Bose', 'বসু'],
      ['Sen', 'সেন'],
      ['Dutta', 'দত্ত'],
      ['Roy', 'রায়'],
      ['Chowdhury', 'চৌধুরী'],
    ],
    homes: ['kolkata', 'kolkata', 'howrah', 'siliguri'],
  },
  {
    id: 'tamil',
    language: 'ta',
    languageDisplay: 'Tamil',
    script: 'Taml',
    weight: 7,
    patronymic: true,
    male: [
      ['Karthik', 'கார்த்திக்'],
      ['Senthil', 'செந்தில்'],
      ['Murugan', 'முருகன்'],
      ['Arun', 'அருண்'],
      ['Vignesh', 'விக்னேஷ்'],
      ['Balaji', 'பாலாஜி'],
      ['Saravanan', 'சரவணன்'],
    ],
    female: [
      ['Lakshmi', 'லட்சுமி'],
      ['Priya', 'பிரியா'],
      ['Kavitha', 'கவிதா'],
      ['Divya', 'திவ்யா'],
      ['Meenakshi', 'மீனாட்சி'],
      ['Revathi', 'ரேவதி'],
      ['Selvi', 'செல்வி'],
    ],
    family: [
      ['Subramanian', 'சுப்பிரமணியன்'],
      ['Ramasamy', 'ராமசாமி'],
      ['Krishnan', 'கிருஷ்ணன்'],
      ['Venkatesan', 'வெங்கடேசன்'],
      ['Natarajan', 'நடராஜன்'],
      ['Pillai', 'பிள்ளை'],
      ['Iyer', 'ஐயர்'],
    ],
    homes: ['chennai', 'chennai', 'madurai', 'coimbatore', 'tiruchirappalli'],
  },
  {
    id: 'telugu',
    language: 'te',
    languageDisplay: 'Telugu',
    script: 'Telu',
    weight: 6,
    male: [
      ['Srinivas', 'శ్రీనివాస్'],
      ['Venkat', 'వెంకట్'],
      ['Ravi', 'రవి'],
      ['Naveen', 'నవీన్'],
      ['Chaitanya', 'చైతన్య'],
      ['Suresh', 'సురేష్'],
    ],
    female: [
      ['Lakshmi', 'లక్ష్మి'],
      ['Sravani', 'శ్రావణి'],
      ['Padma', 'పద్మ'],
      ['Swathi', 'స్వాతి'],
      ['Bhavani', 'భవాని'],
      ['Anusha', 'అనూష'],
    ],
    family: [
      ['Reddy', 'రెడ్డి'],
      ['Rao', 'రావు'],
      ['Naidu', 'నాయుడు'],
      ['Sarma', 'శర్మ'],
      ['Sharma', 'శర్మ'],
      ['Chowdary', 'చౌదరి'],
      ['Varma', 'వర్మ'],
    ],
    homes: ['hyderabad', 'hyderabad', 'vijayawada', 'visakhapatnam', 'guntur'],
  },
  {
    id: 'punjabi',
    language: 'pa',
    languageDisplay: 'Punjabi',
    script: 'Guru',
    weight: 8,
    sikh: true,
    male: [
      ['Gurpreet', 'ਗੁਰਪ੍ਰੀਤ'],
      ['Harjeet', 'ਹਰਜੀਤ'],
      ['Manpreet', 'ਮਨਪ੍ਰੀਤ'],
      ['Jaspal', 'ਜਸਪਾਲ'],
      ['Amarjeet', 'ਅਮਰਜੀਤ'],
      ['Kuldeep', 'ਕੁਲਦੀਪ'],
      ['Balwinder', 'ਬਲਵਿੰਦਰ'],
      ['Gurdeep', 'ਗੁਰਦੀਪ'],
    ],
    female: [
      ['Simran', 'ਸਿਮਰਨ'],
      ['Harleen', 'ਹਰਲੀਨ'],
      ['Jasleen', 'ਜਸਲੀਨ'],
      ['Navneet', 'ਨਵਨੀਤ'],
      ['Manpreet', 'ਮਨਪ੍ਰੀਤ'],
      ['Gurpreet', 'ਗੁਰਪ੍ਰੀਤ'],
    ],
    family: [
      ['Gill', 'ਗਿੱਲ'],
      ['Sandhu', 'ਸੰਧੂ'],
      ['Dhillon', 'ਢਿੱਲੋਂ'],
      ['Sidhu', 'ਸਿੱਧੂ'],
      ['Grewal', 'ਗਰੇਵਾਲ'],
      ['Bedi', 'ਬੇਦੀ'],
    ],
    homes: ['delhi', 'amritsar', 'ludhiana', 'chandigarh', 'jalandhar'],
  },
  {
    id: 'muslim',
    language: 'ur',
    languageDisplay: 'Urdu',
    script: 'Arab',
    weight: 12,
    prefixNames: ['Mohammad', 'Muhammad', 'Mohd'],
    male: [
      ['Mohammad', 'محمد'],
      ['Muhammad', 'محمد'],
      ['Mohd', 'محمد'],
      ['Imran', 'عمران'],
      ['Salman', 'سلمان'],
      ['Faizan', 'فیضان'],
      ['Arif', 'عارف'],
      ['Irfan', 'عرفان'],
    ],
    female: [
      ['Fatima', 'فاطمہ'],
      ['Ayesha', 'عائشہ'],
      ['Nazia', 'نازیہ'],
      ['Shabana', 'شبانہ'],
      ['Zainab', 'زینب'],
      ['Rukhsar', 'رخسار'],
    ],
    family: [
      ['Khan', 'خان'],
      ['Qureshi', 'قریشی'],
      ['Ansari', 'انصاری'],
      ['Siddiqui', 'صدیقی'],
      ['Shaikh', 'شیخ'],
      ['Ahmed', 'احمد'],
      ['Mirza', 'مرزا'],
    ],
    homes: ['delhi', 'delhi', 'lucknow', 'hyderabad', 'aligarh', 'bhopal', 'srinagar'],
  },
  {
    id: 'malayali',
    language: 'ml',
    languageDisplay: 'Malayalam',
    script: 'Mlym',
    weight: 5,
    male: [
      ['Joseph', 'ജോസഫ്'],
      ['Thomas', 'തോമസ്'],
      ['George', 'ജോർജ്'],
      ['Abraham', 'എബ്രഹാം'],
      ['Mathew', 'മാത്യു'],
      ['Jacob', 'ജേക്കബ്'],
    ],
    female: [
      ['Mary', 'മേരി'],
      ['Annamma', 'അന്നമ്മ'],
      ['Elizabeth', 'എലിസബത്ത്'],
      ['Susan', 'സൂസൻ'],
      ['Rosamma', 'റോസമ്മ'],
      ['Sherin', 'ഷെറിൻ'],
    ],
    family: [
      ['Varghese', 'വർഗീസ്'],
      ['Kurian', 'കുര്യൻ'],
      ['Thomas', 'തോമസ്'],
      ['Mathew', 'മാത്യു'],
      ['Jacob', 'ജേക്കബ്'],
      ['Chacko', 'ചാക്കോ'],
      ['Philip', 'ഫിലിപ്പ്'],
    ],
    homes: ['kochi', 'kochi', 'thiruvananthapuram', 'kottayam', 'thrissur'],
  },
  {
    id: 'gujarati',
    language: 'gu',
    languageDisplay: 'Gujarati',
    script: 'Gujr',
    weight: 6,
    male: [
      ['Hitesh', 'હિતેશ'],
      ['Jignesh', 'જીગ્નેશ'],
      ['Nilesh', 'નિલેશ'],
      ['Bhavesh', 'ભાવેશ'],
      ['Mehul', 'મેહુલ'],
    ],
    female: [
      ['Hetal', 'હેતલ'],
      ['Nisha', 'નિશા'],
      ['Komal', 'કોમલ'],
      ['Falguni', 'ફાલ્ગુની'],
      ['Bhavna', 'ભાવના'],
    ],
    family: [
      ['Patel', 'પટેલ'],
      ['Shah', 'શાહ'],
      ['Desai', 'દેસાઈ'],
      ['Mehta', 'મહેતા'],
      ['Parmar', 'પરમાર'],
    ],
    homes: ['ahmedabad', 'ahmedabad', 'surat', 'vadodara', 'rajkot'],
  },
  {
    id: 'kannada',
    language: 'kn',
    languageDisplay: 'Kannada',
    script: 'Knda',
    weight: 4,
    male: [
      ['Manjunath', 'ಮಂಜುನಾಥ್'],
      ['Raghavendra', 'ರಾಘವೇಂದ್ರ'],
      ['Prakash', 'ಪ್ರಕಾಶ್'],
      ['Santosh', 'ಸಂತೋಷ್'],
    ],
    female: [
      ['Lakshmi', 'ಲಕ್ಷ್ಮಿ'],
      ['Shwetha', 'ಶ್ವೇತಾ'],
      ['Kavya', 'ಕಾವ್ಯ'],
      ['Roopa', 'ರೂಪಾ'],
    ],
    family: [
      ['Gowda', 'ಗೌಡ'],
      ['Hegde', 'ಹೆಗ್ಡೆ'],
      ['Shetty', 'ಶೆಟ್ಟಿ'],
      ['Rao', 'ರಾವ್'],
      ['Naik', 'ನಾಯಕ್'],
    ],
    homes: ['bengaluru', 'bengaluru', 'mysuru', 'mangaluru', 'hubballi'],
  },
];

export const SINGH: Name = ['Singh', 'ਸਿੰਘ'];
export const KAUR: Name = ['Kaur', 'ਕੌਰ'];

export function communityById(id: string): Community {
  const c = COMMUNITIES.find((x) => x.id === id);
  if (!c) throw new Error(`no community '${id}'`);
  return c;
}

/** Looks a Latin spelling up in a pool (for the fixed spelling-variant patients). */
export function nameIn(pool: readonly Name[], latin: string): Name {
  const n = pool.find((x) => x[0] === latin);
  if (!n) throw new Error(`no name '${latin}' in pool`);
  return n;
}

/**
 * Patients whose names are fixed, so that every generated hospital (of 100 patients or more)
 * holds each spelling variant: [community, gender, given names (Latin), family name (Latin)].
 */
export const VARIANT_PATIENTS: readonly (readonly [string, 'male' | 'female', readonly string[], string])[] = [
  ['muslim', 'male', ['Mohammad', 'Arif'], 'Khan'],
  ['muslim', 'male', ['Muhammad', 'Arif'], 'Khan'],
  ['muslim', 'male', ['Mohd', 'Arif'], 'Khan'],
  ['hindi', 'female', ['Lakshmi'], 'Sharma'],
  ['hindi', 'female', ['Laxmi'], 'Sharma'],
  ['telugu', 'female', ['Lakshmi'], 'Sarma'],
  ['hindi', 'male', ['Rajesh'], 'Choudhary'],
  ['hindi', 'male', ['Rajesh'], 'Chaudhary'],
  ['marathi', 'female', ['Laxmi'], 'Chaudhari'],
  ['bengali', 'male', ['Partha'], 'Chowdhury'],
  ['telugu', 'male', ['Srinivas'], 'Sarma'],
  ['hindi', 'male', ['Suresh'], 'Sharma'],
];

/** Spread the fixed patients out: patient index 3, 11, 19, ... */
export function variantForIndex(index: number): (typeof VARIANT_PATIENTS)[number] | undefined {
  if (index < 3 || (index - 3) % 8 !== 0) return undefined;
  return VARIANT_PATIENTS[(index - 3) / 8];
}
