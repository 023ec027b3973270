"""Bad input and refusals as one sentence in the user's language.

The services raise one-sentence English errors. The fixed sentences users meet most (the four-eyes
rule, a stale dry run) have catalog entries and are shown translated; any other sentence — it names a
key, a column or an id — is shown as it is after a translated lead-in.
"""

from __future__ import annotations

from markupsafe import Markup

from bot.format import first_sentence
from bot.i18n import N_, Translator
from dispatcher.campaigns import CampaignRefused
from dispatcher.render import TemplateProblem
from policy.config import PolicyError
from policy.dsl import DslError

# What a campaign action may raise for bad input or a refused transition (all one sentence).
CAMPAIGN_ERRORS = (CampaignRefused, PolicyError, DslError, TemplateProblem)

KNOWN_SENTENCES = (
    N_("the author of a campaign can never approve it (four-eyes rule)"),
    N_("run a dry run first: an approval binds to the dry run it was shown"),
    N_("the campaign or its templates changed since the dry run; run it again"),
    N_("the campaign is already approved"),
    N_("the campaign or its templates changed since approval; it needs a new dry run"),
)


def sentence(error: BaseException | str, tr: Translator) -> str:
    """The error's first sentence, translated when it is one of the known fixed sentences."""
    text = first_sentence(error)
    return tr.plain(text) if text in KNOWN_SENTENCES else text


def refusal(error: BaseException | str, tr: Translator) -> Markup:
    """For a chat message (HTML)."""
    return tr.gettext("Not done: {why}", why=sentence(error, tr))


def refusal_alert(error: BaseException | str, tr: Translator) -> str:
    """For a button alert (plain text, at most 200 characters)."""
    text = tr.plain("Not done: {why}", why=sentence(error, tr))
    return text if len(text) <= 200 else text[:199] + "…"
