"""SQL, engines, the unit of work and numbering: the bottom of the flow.

The integrations' tables live beside the data model (`token_models`, `webhook_models`,
on the same `Base`); importing them here puts them in `Base.metadata` for every user of
the store.
"""

from hubbub.store import token_models as token_models
from hubbub.store import webhook_models as webhook_models
