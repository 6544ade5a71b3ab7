# Hand-off to the admissions team (handlers/handoff.py): what students see, and the staff
# chat's notices about delivery and edits. The older hand-off strings are in staff.ftl.

# No staff chat configured: the fallback does not offer to send the question from here.
fallback-no-staff =
    Sorry, I don't know the answer to that. I don't want to guess.

    Please ask the <b>admissions office for international students</b>: contacts are on the official website, <a href="{ $website }">{ $website_host }</a>.
# No staff chat and no contacts entry in the knowledge base.
handoff-contacts-website = To reach the admissions office, use the contacts on the official website: { $website }
# Above every staff reply the student gets.
handoff-staff-reply-header = 💬 <b>Admissions team:</b>
# A hand-off from a group: the reply comes in private.
handoff-confirm-group =
    Send this question to the admissions team? The reply will come in a private chat with me, { $bot }.

    <blockquote>{ $question }</blockquote>
handoff-saved-group = ✅ Your question has been saved for the admissions team. The reply will come in a private chat with me: open { $bot } and press Start, so that I can write to you.
# Outside staff.office_hours, added to the confirmation.
handoff-office-hours = 🕘 The team answers { $days }, { $start }–{ $end } ({ $offset }). It is outside those hours now: expect the reply after they open ({ $next }).
handoff-today = today at { $time }
handoff-tomorrow = tomorrow at { $time }
handoff-on-day = { $day } at { $time }
weekday-0 = Mon
weekday-1 = Tue
weekday-2 = Wed
weekday-3 = Thu
weekday-4 = Fri
weekday-5 = Sat
weekday-6 = Sun

# Staff chat (the bot's default language).
staff-student-no-private-chat = ⚠️ Not delivered: the student never opened a private chat with the bot, so it cannot write to them (replies never go to groups). Send the reply again once they have pressed Start in a private chat with the bot.
staff-student-edited =
    ✏️ { $name } (id <code>{ NUMBER($user_id, useGrouping: 0) }</code>) edited this message:
    <blockquote>{ $text }</blockquote>
staff-student-edited-media = ✏️ { $name } (id <code>{ NUMBER($user_id, useGrouping: 0) }</code>) edited this message; the new version:
# /human@bot in a group, or the button where there is no question to send.
handoff-in-private = To ask the admissions team, write to me in a private chat: open { $bot } and send /human.
