# Staff keep the knowledge base right from Telegram (handlers/teach.py): teaching from
# /unanswered, /kb todo, /kb history, /kb undo. Staff only; everyone else never sees these.

kb-help =
    📚 <b>The knowledge base</b>
    /unanswered — questions the bot could not answer: add each to an entry in one tap, or mark it out of scope
    /kb todo — entries whose facts staff still have to confirm: send the right answer
    /kb history — the latest changes: who, when, what
    /kb undo — undo the latest change
    /kb export — the whole knowledge base as a spreadsheet (send it back edited)
kb-invalid =
    ❌ Nothing was saved: the change would break the knowledge base.
    { $errors }
kb-stale =
    ⚠️ Nothing was changed: the knowledge base changed after this was shown to you (latest change: “{ $summary }” by { $author }, { $when }). { $retry }
kb-stale-unknown = ⚠️ Nothing was changed: the knowledge base changed after this was shown to you. { $retry }
kb-reload-failed = ⚠️ Saved, but the bot could not reload it: { $error }

# /unanswered with buttons
teach-title = ❓ <b>Unanswered and 👎 questions, last { $days } days</b>: { $groups ->
        [one] one group
       *[other] { $groups } groups
    }{ $shown ->
        [0] {""}
       *[other] , the { $shown } most asked below
    }. Tap what to do with each: it takes effect at once.
teach-empty = No unanswered or downvoted questions in the last { $days } days. 🎉
teach-group = <b>{ $count } ×</b> <i>{ $example }</i> [{ $lang }]
teach-also = also: { $texts }
teach-rejected = 👎 Students voted down its answer, “{ $title }” (<code>{ $entry }</code>): if the facts are wrong, correct them with /kb todo.
teach-closest = Closest entry: <b>{ $title }</b> (<code>{ $entry }</code>, score { $score })
teach-nearest-weak = No entry fits (nearest: <code>{ $entry }</code>, score { $score }, not a real match). Choose an entry, or mark it out of scope.
teach-no-entry = No entry comes close. Choose an entry, or mark it out of scope.
btn-teach-add = ➕ Add to “{ $title }”
btn-teach-other = 📂 Another entry…
btn-teach-oos = 🚫 Out of scope
btn-teach-ignore = 🙈 Ignore
btn-teach-back = ◀️ Back
teach-pick-category = Which topic is it about?
teach-pick-entry = Which entry of “{ $category }”?
teach-done-entry = ✅ { $author } added { $count ->
        [one] this question
       *[other] these { $count } questions
    } to “{ $title }”: the bot answers { $count ->
        [one] it
       *[other] them
    } now.
teach-done-nothing = ✅ { $author }: “{ $title }” already has these phrasings; the group leaves the list.
teach-done-oos = 🚫 { $author } marked this as out of scope: the bot now says it cannot help with such questions.
teach-done-ignore = 🙈 { $author } ignored this group.
teach-gone = This group is no longer in the list: someone decided it already, or new questions changed it. Send /unanswered again.
teach-summary-entry = taught { $entry } { $count } phrasing(s) ({ $lang }) from /unanswered
teach-summary-oos = { $count } out-of-scope example(s) ({ $lang }) from /unanswered

# /kb todo
todo-title = 📝 <b>{ $count ->
        [one] One entry waits
       *[other] { $count } entries wait
    } for staff to confirm the facts.</b> Tap one (or “Another entry…” for one already confirmed), then send the correct answer.
todo-empty = ✅ Every entry is confirmed. To change one, pick it below.
btn-todo-other = 📂 Another entry…
todo-entry =
    📝 <b>{ $title }</b> (<code>{ $entry }</code>)
    Source: { $source }
    Current answer in English:
    <blockquote expandable>{ $en }</blockquote>
    Current answer in Russian:
    <blockquote expandable>{ $ru }</blockquote>
    Send the correct answer as one message, in English or in Russian; bold, italics and links are kept. /cancel to stop.
todo-no-source = not given
todo-gone = This entry no longer exists. Send /kb todo again.
todo-need-text = Please send the answer as a text message (or /cancel).
todo-bad-html =
    ❌ Telegram would not show this text: { $problems }
    Send it again, or /cancel.
todo-too-long = ❌ The answer is { $length } characters; a message can have at most { $limit }. Send a shorter one, or /cancel.
todo-preview = 👆 This is how students will see the <b>{ $language }</b> answer of “{ $title }”. Save it and mark the entry as confirmed?
todo-language-en = English
todo-language-ru = Russian
btn-todo-confirm = ✅ Confirm
btn-todo-other-lang = 🔁 It is in { $language }
btn-todo-cancel = Cancel
todo-cancelled = Cancelled: nothing was changed.
todo-expired = This preview is no longer current. Send /kb todo again.
todo-saved = ✅ Saved by { $author }: the { $language } answer of “{ $title }” is confirmed, and students get it from now on.
todo-summary = answer ({ $lang }) of { $entry } confirmed

# /kb history and /kb undo
history-title = 🕘 <b>Latest changes to the knowledge base</b>
history-item = { $when } · { $author }: { $summary }
history-undone = (undone)
history-empty = No changes were made from Telegram or the command line yet.
btn-history-undo = ↩️ Undo the latest change
undo-confirm = ↩️ Undo “{ $summary }” ({ $author }, { $when })? The files go back exactly to how they were before it.
btn-undo-confirm = ✅ Confirm undo
undo-done = ↩️ { $author } undid “{ $summary }”: the bot answers from the previous version now.
undo-nothing = There is nothing to undo.
undo-cancelled = Cancelled: nothing was changed.
