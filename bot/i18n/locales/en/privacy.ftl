# /privacy and /forget: what the bot stores about a student, and deleting it.
cmd-privacy = What the bot stores about you
privacy-info =
    🔒 <b>Your data in this bot</b>

    What I store:
    • your Telegram user id, name, username and language;
    • the questions you type, with the language, the topic I matched and the time;
    • your 👍/👎 votes: which answer message and which topic;
    • your news subscription settings, and which digests were sent to you;
    • if you wrote to the admissions team: which messages in their chat belong to your conversation (the messages themselves are in the team's Telegram chat).

    Who sees it: the university's admissions staff, to answer you and improve the answers.

    How long: { $days ->
        [0] everything is kept until you delete it.
       *[other] your questions are deleted after { $days } { $days ->
            [one] day
           *[other] days
        } (only anonymous counts per day and topic stay, for statistics); everything else is kept until you delete it.
    }

    To delete all of it, send /forget. What stays then: anonymous counts for statistics, a note that you asked (without content) and, if the staff barred you from writing to them, that bar.
forget-confirm = ⚠️ Delete everything this bot stores about you: your questions, votes, news subscription and your conversations with the admissions team? This cannot be undone.
btn-forget-yes = 🗑 Yes, delete
forget-done =
    ✅ Your data has been deleted. Only a note that you asked for it stays, without any content.

    The messages in this chat stay in Telegram: you can clear the chat yourself. If you write to me again, I will store it as /privacy describes.
forget-cancelled = Nothing was deleted. Send /privacy to see what I store.
forget-not-yours = Only the person who sent /forget can press this button.
