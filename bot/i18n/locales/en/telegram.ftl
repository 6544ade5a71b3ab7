# The bot's profile in Telegram (bot.telegram.profile): plain text, no HTML.
# bot-description: in an empty chat before Start, at most 512 characters.
# bot-short-description: on the bot's profile page and in shared links, at most 120.

cmd-human = Ask a person on the admissions team
bot-description =
    Admissions assistant of the Belarusian State Medical University (BSMU) in Minsk.

    Ask in English or Russian about admission, documents, deadlines, tuition fees, visas, housing and study programmes, and get an answer at once, day or night. Browse the topics with /menu, follow university news with /subscribe.

    If I can't answer, /human helps you reach the admissions team.
bot-short-description = BSMU admissions assistant: admission, documents, fees, visas and housing, in English and Russian.
