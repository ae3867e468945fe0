"""The operator's data lifecycle: an operator's command layer over the store.

`hubbub user delete|export`, `hubbub backup|restore`, `hubbub port-db`, `hubbub
export|import`. The command line (`hubbub.cli`, `hubbub.admin_cli`) -> here -> the
actions (an account's deletion and export, as a user would ask for them) or straight
to the store's tables (`hubbub.store.copying`) for the copies, which move whole rows
and files and change nothing a user sees. Each command reports through
`hubbub.ops.report`: progress on stderr (a bar on a terminal, a line per step
otherwise), its answer on stdout (`--json`: one document); a refusal is one line and
exit status 1 having changed nothing; an interrupted command says so and can be run
again.
"""
