# Supervision records, workers' views of their workload and workload concerns
# are deliberately not in the administration pages: DESIGN.md's "Who sees
# what" gives administrators no access to them. Only the worker, their
# supervisor and (for concerns) their team manager see them, on their own pages.
