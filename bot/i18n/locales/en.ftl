# English strings of the bot. Every key here must exist in ru.ftl too (a test checks).
# Values may use Telegram HTML (<b>, <i>, <a href>); { $name } inserts a variable, and
# variables that come from users are escaped by the code before they get here.

welcome =
    👋 Hello, { $name }! I am the admissions assistant of the <b>Belarusian State Medical University</b> (BSMU).

    Ask me anything about studying at BSMU in English or Russian: admission, documents, fees, visas, housing, programmes, partnerships and news. Or pick a topic below.
help =
    <b>How I can help</b>
    • Just type your question, for example: <i>Is there a dormitory?</i>
    • /menu — browse topics
    • /human — ask a person on the admissions team
    • /news — the latest BSMU news; /subscribe — get news here (/settings, /unsubscribe)
    • /language — English or Russian
    • /privacy — what I store about you; /forget — delete it
    • /help — this message

    If I don't know an answer, I will say so and you can ask the admissions team.
menu-title = Choose a topic:
menu-category = <b>{ $title }</b>: choose a question
menu-empty = There is nothing in this topic yet.
menu-page = Page { $page } of { $pages }
btn-back = ◀️ Back
btn-main-menu = 🏠 Main menu
btn-prev = ◀️
btn-next = ▶️
btn-vote-up = 👍
btn-vote-down = 👎
btn-ask-team = ✉️ Ask the admissions team
btn-none = None of these
vote-thanks-up = Thank you for your feedback!
vote-thanks-down = Thank you. We will use this to improve the answer.
vote-same = Your vote is already counted.
did-you-mean = I am not sure I understood. Did you mean:
fallback =
    Sorry, I don't know the answer to that. I don't want to guess.

    Please ask the <b>admissions office for international students</b>: contacts are on the official website, <a href="{ $website }">{ $website_host }</a>. You can also send your question to the admissions team from here.
none-of-these =
    Sorry I could not help. Try rephrasing your question, or ask the admissions team.
handoff-saved = ✅ Your question has been saved for the admissions team. A staff member will reply here in this chat.
handoff-nothing = Please type your question first, then tap the button again.
language-choose = Choose your language:
language-set = ✅ Language: English.
non-text = I can only read text messages. Please type your question.
empty-text = Please type your question in words.
too-long = Your message is very long ({ $length } characters). I read the first { $limit } characters; please keep questions short.
slow-down = ⏳ You are sending messages too fast. Please wait a few seconds.
stale-menu = This menu is out of date. Please use /menu.
error-generic = Sorry, something went wrong on my side. Please try again in a minute.
news-none = There is no news yet.
cmd-start = Start and show the topic menu
cmd-help = What the bot can do
cmd-menu = Browse topics
cmd-language = Change the language
stats-title = 📊 <b>Statistics for the last { $days } days</b>
stats-users = Users: { $total } in all, { $new } new, { $active } active, { $blocked } blocked the bot
stats-questions = Questions: { $count } (answered { $answered }, suggestions { $suggested }, fallback { $fallback })
stats-top = Top topics (answered, with 👍/👎):
stats-votes = Other votes:
stats-subscribers = Active subscribers: { $count }

## News digests (bot/digest): the title line, then one block per news item.
digest-title = { $kind ->
    [instant] 📰 <b>BSMU news</b>
    [weekly] 📰 <b>BSMU news of the week</b>: { $count ->
        [one] 1 new item
       *[other] { $count } new items
    }
   *[other] 📰 <b>BSMU news of the day</b>: { $count ->
        [one] 1 new item
       *[other] { $count } new items
    }
}
digest-date = { DATETIME($date, dateStyle: "medium") }
digest-item-title = <b>{ $title }</b> ({ $date })
digest-item-link = <a href="{ $url }">Read more</a>

## News (/news) and the news subscription (/subscribe, /settings, /unsubscribe).
news-list-title = 📰 <b>BSMU news</b>
news-date = { $day } { $month ->
    [1] January
    [2] February
    [3] March
    [4] April
    [5] May
    [6] June
    [7] July
    [8] August
    [9] September
    [10] October
    [11] November
   *[12] December
} { $year }
news-read-more = Read on the website
news-gone = This news item is no longer available.
btn-news-all = 📰 All news
btn-news-back = ◀️ Back to the news
btn-news-subscribe = 🔔 News subscription
sub-title = 🔔 <b>News subscription</b>
sub-status-on = Status: ✅ subscribed
sub-status-off = Status: not subscribed
sub-frequency = How often: { $value }
sub-topics = Topics: { $value }
sub-language = Language of the news: { $value }
sub-hint = Tap a button to change a setting. Pick topics to get only those; with none picked, you get news on all topics.
sub-off-hint = Subscribe, and I will send BSMU news to this chat: as soon as it is published, once a day or once a week, on the topics you choose.
sub-subscribed = ✅ You are subscribed to BSMU news.
sub-already = You are already subscribed.
sub-unsubscribed = 🔕 You have unsubscribed from BSMU news. Changed your mind? Tap Undo.
sub-restored = ✅ Your subscription is back, with your previous settings.
sub-not-subscribed = You are not subscribed to the news.
sub-saved = Saved ✅
sub-private-only = News subscriptions work in a private chat with me: open a chat with the bot and send /subscribe.
freq-instant = as soon as it is published
freq-daily = once a day
freq-weekly = once a week
btn-freq-instant = ⚡ Instantly
btn-freq-daily = 📅 Daily
btn-freq-weekly = 🗓 Weekly
topics-all = all topics
btn-topics-all = All topics
topic-international = International relations
topic-science = Science
topic-admission = Admission
topic-events = Events
topic-partnerships = Partnerships
language-name-en = English
language-name-ru = Русский
btn-subscribe = 🔔 Subscribe
btn-unsubscribe = 🔕 Unsubscribe
btn-undo = ↩️ Undo
cmd-news = Latest BSMU news
cmd-subscribe = Subscribe to the news
cmd-settings = News subscription settings
cmd-unsubscribe = Stop the news subscription
