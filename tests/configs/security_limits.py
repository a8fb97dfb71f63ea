# Hardened request limits.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 0
header_map = "refuse"
permit_obsolete_folding = False
