"""The demo's SMS moment: a marathon deadline reminder by SMS inside the month's budget, sent to the
SMS.ru stand-in over real HTTP, and its delivery reports coming back to `POST /hooks/sms`."""

from __future__ import annotations

from datetime import datetime

from dispatcher.campaigns import CampaignService
from dispatcher.channels import smsru_wire as wire
from policy.config import Policy
from policy.dry_run import DryRunReport
from policy.sms import sms_cost
from ritm.demo_campaigns import campaign_text
from ritm.sandbox.smsru_api import SmsRuStandin
from storage.sms import CampaignSms, sms_by_campaign

SMS_DEADLINE = "marathon-deadline-sms"


class SmsScript:
    def __init__(
        self,
        service: CampaignService,
        policy: Policy,
        standin: SmsRuStandin,
        *,
        notes: list[str],
        dry_runs: dict[str, DryRunReport],
        author: str,
    ) -> None:
        self.service, self.policy, self.standin = service, policy, standin
        self.notes, self.dry_runs, self.author = notes, dry_runs, author

    async def add(self, now: datetime) -> None:
        """Мария adds the reminder; its dry run prices it against the month's budget; it is planned."""
        await self.service.add(campaign_text(SMS_DEADLINE), f"{SMS_DEADLINE}.toml", by=self.author, at=now)
        report = await self.service.dry_run(SMS_DEADLINE, at=now, by=self.author)
        self.dry_runs[SMS_DEADLINE] = report
        await self.service.plan(SMS_DEADLINE, at=now, by=self.author)

    async def reports(self, now: datetime) -> None:
        """SMS.ru reports back: every SMS delivered but the first (its phone failed)."""
        for index, sms in enumerate(self.standin.sent):
            await self.standin.report(sms.sms_id, wire.PHONE_FAILURE if index == 0 else wire.DELIVERED)
        found = (await sms_by_campaign(self.service.db, [SMS_DEADLINE])).get(SMS_DEADLINE, CampaignSms())
        config, currency = self.policy.channels.sms, self.policy.money.currency
        self.notes.append(
            f"SMS deadline reminder: {found.sent} SMS in {found.parts} parts cost"
            f" {sms_cost(found.parts, config.price_per_part):.2f} {currency} of the"
            f" {config.budget_per_month:.2f} {currency} monthly budget; SMS.ru reported {found.delivered}"
            f" delivered, {found.failed} not delivered (callbacks to /hooks/sms)"
        )
