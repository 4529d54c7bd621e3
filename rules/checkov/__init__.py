"""checkov external checks that run tablesafe's rules on CloudFormation templates.

Use: ``checkov -d cdk.out --framework cloudformation --external-checks-dir "$(tablesafe checkov-dir)"``.

checkov only needs this file to exist: it loads every other ``.py`` file of the folder as a
top-level module (``tablesafe_checks.py`` registers TS001, TS003, TS004 and TS007). Nothing
is imported here, so importing ``tablesafe.rules.checkov`` never imports checkov.
"""
