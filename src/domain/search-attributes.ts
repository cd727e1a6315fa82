import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The search attributes (docs/architecture.md), registered on the dev server and checked by the worker at start-up. */
export const EnrichmentStatusKey = defineSearchAttributeKey('EnrichmentStatus', SearchAttributeType.KEYWORD);
export const IcpScoreKey = defineSearchAttributeKey('IcpScore', SearchAttributeType.INT);
export const IcpTierKey = defineSearchAttributeKey('IcpTier', SearchAttributeType.KEYWORD);
export const CompanyDomainKey = defineSearchAttributeKey('CompanyDomain', SearchAttributeType.KEYWORD);
export const SignupAtKey = defineSearchAttributeKey('SignupAt', SearchAttributeType.DATETIME);

export const SEARCH_ATTRIBUTES = [EnrichmentStatusKey, IcpScoreKey, IcpTierKey, CompanyDomainKey, SignupAtKey] as const;
