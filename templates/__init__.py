"""Jinja2 message templates shipped with Ritm (email html+txt, telegram, shared blocks).

Layout (a directory named `RITM_TEMPLATES` may hold the same layout; its files win on a name clash):

    NAME/subject.j2        email subject (plain text)        _blocks/email.html.j2     email skeleton + footer
    NAME/email.txt.j2      email plain-text body             _blocks/email.txt.j2      text skeleton + footer
    NAME/email.html.j2     email HTML body (autoescaped)     _blocks/macros.*.j2       CTA button, event block
    NAME/telegram.j2       Telegram HTML (autoescaped)       _blocks/hooks.j2          RFM / reminder wording
                                                             _blocks/digest.*.j2       the digest's skeleton

Shipped NAMEs: digest_general, digest_warm, digest_clients (one digest skeleton, segment add-ons),
webinar_invite, webinar_reminder, webinar_followup (Telegram only), service_notice. The variables a
template sees are listed in `dispatcher.render_context`; rendering rules in `dispatcher.render`.
"""
