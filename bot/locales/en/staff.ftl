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
handoff-staff-unavailable = Sorry, the admissions team cannot be reached from the bot right now. Please contact the admissions office through the official website, { $website }.
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
