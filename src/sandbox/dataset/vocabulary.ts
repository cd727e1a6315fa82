/** The words the data set is made of: industries and their tags, countries and cities, name syllables, people's names. */

export const INDUSTRIES = {
  Software: ['SaaS', 'B2B', 'Developer Tools', 'Analytics', 'Artificial Intelligence', 'Cloud Infrastructure'],
  'Financial Services': ['Fintech', 'Payments', 'Banking', 'Insurance', 'Lending', 'B2B'],
  Healthcare: ['Healthtech', 'Digital Health', 'Telemedicine', 'Medical Devices', 'B2B'],
  Biotechnology: ['Biotech', 'Drug Discovery', 'Genomics', 'Life Sciences'],
  'E-commerce': ['Marketplace', 'Retail', 'D2C', 'B2C', 'Logistics'],
  Education: ['Edtech', 'Online Learning', 'K-12', 'Higher Education'],
  'Media & Entertainment': ['Streaming', 'Publishing', 'Creator Economy', 'B2C'],
  Gaming: ['Video Games', 'Mobile Games', 'Esports', 'B2C'],
  Cybersecurity: ['Security', 'Identity', 'Compliance', 'Cloud Security', 'B2B'],
  'Marketing & Advertising': ['Martech', 'Adtech', 'CRM', 'Analytics', 'B2B'],
  'Logistics & Supply Chain': ['Freight', 'Supply Chain', 'Fleet Management', 'Logistics'],
  Manufacturing: ['Industrial', 'Robotics', 'Hardware', 'IoT'],
  'Energy & Climate': ['Climate Tech', 'Renewable Energy', 'Energy Storage', 'Sustainability'],
  'Real Estate': ['Proptech', 'Construction', 'Property Management'],
  'Human Resources': ['HR Tech', 'Recruiting', 'Payroll', 'Future of Work', 'B2B'],
  Nonprofit: ['Social Impact', 'Community', 'Advocacy'],
} as const satisfies Record<string, readonly string[]>;
export type Industry = keyof typeof INDUSTRIES;
export const INDUSTRY_NAMES = Object.keys(INDUSTRIES) as Industry[];

/** Countries with their English names (Harmonic and Clearbit spell countries out) and a few cities. */
export const COUNTRIES: Record<string, { name: string; cities: readonly string[]; weight: number }> = {
  US: { name: 'United States', cities: ['San Francisco', 'New York', 'Austin', 'Boston', 'Seattle'], weight: 40 },
  GB: { name: 'United Kingdom', cities: ['London', 'Manchester', 'Edinburgh'], weight: 10 },
  DE: { name: 'Germany', cities: ['Berlin', 'Munich', 'Hamburg'], weight: 8 },
  FR: { name: 'France', cities: ['Paris', 'Lyon'], weight: 6 },
  CA: { name: 'Canada', cities: ['Toronto', 'Vancouver', 'Montreal'], weight: 6 },
  IN: { name: 'India', cities: ['Bengaluru', 'Mumbai'], weight: 6 },
  NL: { name: 'Netherlands', cities: ['Amsterdam', 'Rotterdam'], weight: 4 },
  AU: { name: 'Australia', cities: ['Sydney', 'Melbourne'], weight: 4 },
  SE: { name: 'Sweden', cities: ['Stockholm'], weight: 3 },
  ES: { name: 'Spain', cities: ['Madrid', 'Barcelona'], weight: 3 },
  BR: { name: 'Brazil', cities: ['São Paulo'], weight: 3 },
  IL: { name: 'Israel', cities: ['Tel Aviv'], weight: 3 },
  SG: { name: 'Singapore', cities: ['Singapore'], weight: 2 },
  JP: { name: 'Japan', cities: ['Tokyo'], weight: 2 },
};

// prettier-ignore
export const SYLLABLES = [
  'bra', 'cor', 'dax', 'el', 'fen', 'gor', 'hal', 'iv', 'jor', 'kal', 'lum', 'mor', 'nex', 'ol', 'pra', 'quor',
  'ril', 'sol', 'tav', 'ul', 'vex', 'wim', 'xan', 'yor', 'zel', 'tri', 'ost', 'vin', 'plu', 'mab', 'drel', 'kiv',
];
// prettier-ignore
export const FIRST_NAMES = [
  'Ada', 'Bruno', 'Chloe', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Luca', 'Maya',
  'Nikhil', 'Olga', 'Pavel', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Umar', 'Vera', 'Wes', 'Xenia', 'Yusuf', 'Zoe',
  'Aiden', 'Beatriz', 'Camille', 'Dario', 'Emeka', 'Freya', 'Gus', 'Hana', 'Ivo', 'Jade', 'Kai', 'Lena', 'Mateo',
  'Nora',
];
// prettier-ignore
export const LAST_NAMES = [
  'Abara', 'Brisk', 'Calloway', 'Draxler', 'Eskola', 'Fairbrook', 'Galvano', 'Holm', 'Ibarra', 'Jansky', 'Kowal',
  'Lindqvist', 'Marchetti', 'Novak', 'Okafor', 'Petrov', 'Quillon', 'Rahman', 'Sorensen', 'Takeda', 'Uribe', 'Varga',
  'Whitcombe', 'Xu', 'Yilmaz', 'Zamora', 'Achebe', 'Brandt', 'Castell', 'Dunmore', 'Everly', 'Finch', 'Grau',
  'Hartigan', 'Ilves', 'Jovanovic', 'Keller', 'Lowell', 'Mbeki', 'Nakamura',
];
