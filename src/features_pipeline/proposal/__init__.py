"""``features-pipeline init``: a complete, screened set-up proposed from a table alone.

roles (what each column can be) -> candidates (features proposed from the roles) -> screen
(cross-validated forward selection; leaks and features adding nothing dropped) -> gates (from
the cross-validated baseline) -> render (the spec, and params.yaml edited in place).
"""
