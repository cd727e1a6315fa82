-- The ledger's own database and role, beside Temporal's. Our migrations run at worker/starter start-up.
CREATE ROLE ledger LOGIN PASSWORD 'ledger';
CREATE DATABASE ledger OWNER ledger;
