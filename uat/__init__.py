"""UAT validation for ERP and billing migrations: compare a legacy and a new system per
entity on the reconciliation engine, attribute the differences to root causes, check declared
expectations and write a sign-off workbook."""
