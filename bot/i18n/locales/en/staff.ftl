# Hand-off to the admissions team and staff tools.

unknown-command = I don't know this command. Send /help to see what I can do.
btn-handoff-send = ✅ Send to the admissions team
btn-cancel = Cancel
handoff-confirm =
    Send this question to the admissions team? A staff member will reply here.

    <blockquote>{ $question }</blockquote>
handoff-type-question = Please type your question for the admissions team in one message. Send /cancel to stop.
handoff-cancelled = OK, nothing was sent.
handoff-banned = Sorry, sending questions to the admissions team is not available to you. Please contact the admissions office through the official website, { $website }.
handoff-closed-student = The admissions team has closed this conversation. Ask me anything, or tap "Ask the admissions team" again if you need a person.
staff-handoff-header =
    🆘 <b>Question from a student</b>
    { $name } · id <code>{ NUMBER($user_id, useGrouping: 0) }</code> · language: { $lang }
    <blockquote>{ $question }</blockquote>
    Bot's best guess: { $guess }
    Reply to this message (or write in this topic) to answer; /close to end; /ban to block hand-offs.
staff-followup = 💬 { $name } (id <code>{ NUMBER($user_id, useGrouping: 0) }</code>) writes:
staff-no-guess = none
staff-student-blocked = ⚠️ Not delivered: the student has blocked the bot.
staff-not-delivered = ⚠️ Not delivered: { $error }
staff-not-a-conversation = Reply to a student's message (or write in their topic) to answer them.
staff-closed = ✅ Conversation closed; the student has been told.
staff-already-closed = This conversation is already closed.
staff-banned = 🚫 Student { NUMBER($user_id, useGrouping: 0) } can no longer send questions to the team.
staff-unbanned = Student { NUMBER($user_id, useGrouping: 0) } can send questions to the team again.
staff-ban-usage = Use /ban or /unban in reply to a student's message, or with a user id: /ban 12345
staff-reload-ok =
    ✅ Knowledge base reloaded.
    { $changes }
staff-reload-failed =
    ❌ The knowledge base was NOT reloaded: { $count } error(s). The previous version keeps answering.
    { $errors }
staff-unanswered-title = ❓ <b>Unanswered and 👎 questions, last { $days } days</b>
staff-unanswered-empty = No unanswered or downvoted questions in the last { $days } days.
staff-unanswered-group = { $count } × <i>{ $example }</i> [{ $lang }] → closest: { $closest }
staff-usage-days = Give the number of days, for example: /stats 30

# /broadcast (bot.digest.broadcast, handlers/broadcast.py)
broadcast-usage =
    Usage: <code>/broadcast [tag:topic] [lang:en|ru] text</code>
    The text is Telegram HTML (&lt;b&gt;, &lt;i&gt;, &lt;a href="…"&gt;…). Or reply to a message with <code>/broadcast</code> (filters allowed): its text or caption is what gets sent.
broadcast-bad-filter = ❌ I don't understand the filter <code>{ $filter }</code>. Use <code>tag:topic</code> and <code>lang:en</code> or <code>lang:ru</code>, each at most once, before the text.
broadcast-invalid-html =
    ❌ Not sent: Telegram would reject this HTML.
    { $problems }
broadcast-rejected = ❌ Not sent: Telegram refused the message: { $error }
broadcast-unknown-topic = ❌ There is no topic <code>{ $tag }</code>. Topics: { $topics }
broadcast-no-recipients = No active subscriber matches ({ $filters }): nothing to send.
broadcast-filter-all = all subscribers
broadcast-filter-tag = topic { $tag }
broadcast-filter-lang = language { $lang }
broadcast-preview =
    📣 <b>Broadcast preview</b>: { $parts ->
        [one] the message above is
       *[other] the { $parts } messages above are
    } exactly what subscribers will get.
    Recipients: { $count } active { $count ->
        [one] subscriber
       *[other] subscribers
    } ({ $filters }).
    Send it? Only you can confirm it; the preview expires in { $minutes } minutes.
btn-broadcast-send = ✅ Send to { $count }
btn-broadcast-cancel = ✖️ Cancel
broadcast-cancelled = Broadcast cancelled: nothing was sent.
broadcast-stale = This broadcast preview has expired or was cancelled. Send /broadcast again.
broadcast-not-yours = Only the staff member who created this broadcast can confirm or cancel it.
broadcast-already = Broadcast #{ $id } has already been confirmed.
broadcast-started = 📣 Broadcast #{ $id } confirmed: sending to { $count } { $count ->
        [one] subscriber
       *[other] subscribers
    }…
broadcast-queued = 📣 Broadcast #{ $id } confirmed and queued: it goes out as soon as the digest engine picks it up (within a minute).
broadcast-progress =
    📣 Broadcast #{ $id }: { $done } of { $total } done ({ $percent }%)
    sent { $sent } · failed { $failed } · blocked the bot { $blocked }
broadcast-finished =
    ✅ Broadcast #{ $id } finished. Recipients: { $total }; sent: { $sent }, failed: { $failed }, blocked the bot: { $blocked }{ $uncertain ->
        [0] {""}
       *[other] ; unknown: { $uncertain } (interrupted while sending, not resent)
    }.
