"""The demo archive's SYNTHETIC stories (datasette/demo.py builds the archive from them).

Headlines and texts paraphrase how the 2015-2021 stories about Russia, Iran and
Pakistan and the Taliban travelled (Kabulov on sharing information, Nicholson and
Scaparrotti on arms, the 2020 bounty reports, the weapons left behind in 2021), but
they are written for the demo, not copied from the outlets named. Never a source.
"""

from __future__ import annotations

# (outlet, published "YYYY-MM-DD HH:MM" or None, hours until we first saw it, title, text)
STORIES = [
    # 2015-16: Moscow says it shares information with the Taliban against Islamic State.
    ("ria-novosti", "2015-12-23 09:10", 2,
     "Kabulov: Russia has channels to exchange information with the Taliban",
     "Zamir Kabulov, the Kremlin's special envoy for Afghanistan, said Russia has channels to "
     "exchange information with the Taliban because the interests of Moscow and the movement "
     "coincide in the fight against the Islamic State in Afghanistan."),
    ("reuters", "2015-12-23 14:25", 1,
     "Russia says it shares intelligence with Taliban on Islamic State",
     "Russia shares intelligence with the Taliban about Islamic State militants in "
     "Afghanistan, Moscow's envoy Zamir Kabulov said, a statement likely to alarm the "
     "government in Kabul."),
    ("tolonews", "2015-12-24 07:40", 3,
     "Afghan officials reject Russian contacts with Taliban",
     "Afghan officials criticised Russia's contacts with the Taliban after Moscow said it "
     "exchanged information with the insurgents about Daesh, and said any cooperation should go "
     "through the government in Kabul."),
    ("rferl", "2016-12-09 11:00", 4,
     "Moscow's Taliban outreach worries Kabul and Washington",
     "Russia defends its contacts with the Taliban as a way to counter Islamic State in "
     "Afghanistan; officials in Kabul and Washington say the channel legitimises the "
     "insurgents."),
    # 2017: the arms claims.
    ("reuters", "2017-03-23 17:05", 1,
     "U.S. general says Russia may be supplying the Taliban",
     "The top U.S. commander in Europe, General Curtis Scaparrotti, told a congressional "
     "committee that he had seen Russian influence increasing and that Russia may be supplying "
     "the Taliban in Afghanistan."),
    ("ap", "2017-03-23 18:30", 1,
     "US general: Russia could be supplying weapons to Taliban",
     "General Curtis Scaparrotti said Russia could be supplying weapons to the Taliban, adding to "
     "suspicions in Washington about Moscow's aims in Afghanistan."),
    ("yahoo-news", "2017-03-23 18:45", 2,
     "US general: Russia could be supplying weapons to Taliban",
     "General Curtis Scaparrotti said Russia could be supplying weapons to the Taliban, adding to "
     "suspicions in Washington about Moscow's aims in Afghanistan."),
    ("tass", "2017-03-24 10:15", 2,
     "Moscow dismisses claims of arms supplies to Taliban as groundless",
     "The Russian Foreign Ministry said claims that Moscow supplies weapons to the Taliban were "
     "groundless and intended to justify the failures of the US military campaign in "
     "Afghanistan."),
    ("ria-novosti", "2017-03-24 12:00", 3,
     "МИД: Россия не поставляет оружие талибам",
     "В МИД России заявили, что Россия не поставляет оружие талибам, а обвинения военных США "
     "назвали попыткой оправдать собственные неудачи в Афганистане."),
    ("tolonews", "2017-03-25 08:20", 5,
     "Afghan lawmakers alarmed by reports Russia arms Taliban",
     "Members of the Afghan parliament said reports that Russia arms the Taliban in the north "
     "of the country must be investigated by the government."),
    ("bbc", "2017-04-24 15:40", 1,
     "Mattis and Nicholson in Kabul: Russia arming the Taliban",
     "US Defence Secretary Jim Mattis, visiting Kabul, said Russia's activity was of concern, "
     "and General John Nicholson did not refute reports that Russia is arming the Taliban."),
    ("cnn", "2017-04-24 19:10", 1,
     "US commander doesn't dispute Russia arming Taliban",
     "The top US commander in Afghanistan, Gen. John Nicholson, said he would not refute that "
     "Russia was arming the Taliban, as Defense Secretary Jim Mattis visited Kabul. Russian "
     "rifles have reached Taliban units in the north for a year."),
    ("rt", "2017-04-25 09:00", 2,
     "Moscow: US claims it arms Taliban are 'absolutely false'",
     "Russian officials said claims by US generals that Moscow arms the Taliban were absolutely "
     "false and offered no evidence, and accused Washington of looking for a scapegoat."),
    ("dawn", "2017-04-25 06:30", 4,
     "US says Russia supplying weapons to Afghan Taliban",
     "Commanders in Washington say Russia is supplying weapons to the Taliban, an allegation "
     "Pakistan's neighbours watch closely as Moscow expands its contacts in the region."),
    ("cnn", "2017-07-25 13:00", 1,
     "Video appears to show Russian weapons given to the Taliban",
     "Videos obtained by CNN appear to show Russian weapons supplied to the Taliban, with "
     "fighters saying the rifles came through Tajikistan; Russia denied arming the movement."),
    ("long-war-journal", "2017-07-27 16:00", 6,
     "Analysis: what the Taliban's Russian rifles show",
     "The weapons in the videos are Russian-made but common in the region; the claim that "
     "Russia is arming the Taliban needs more than serial numbers to prove."),
    ("khaama-press", "2017-10-12 08:00", 5,
     "Afghan officials: Taliban received Russian fuel and weapons",
     "Officials in northern Afghanistan said the Taliban had received fuel and weapons across "
     "the border and that Russia was supplying the Taliban through intermediaries."),
    # 2018: the fuel and money story; talks in Moscow (not a mention: no arms).
    ("bbc", "2018-03-23 10:00", 2,
     "Russia 'arming the Afghan Taliban', says US general",
     "General John Nicholson told the BBC that Russia is arming the Taliban and that Russian "
     "weapons had been smuggled across the Tajik border to the insurgents."),
    ("guardian", "2018-03-23 15:30", 2,
     "Russia denies US general's claim it is arming Taliban",
     "Moscow rejected General John Nicholson's claim that Russia is arming the Taliban, calling "
     "it idle talk, while Afghan officials asked for evidence."),
    ("tass", "2018-03-24 09:30", 2,
     "Kabulov calls US general's words on Russia arming Taliban 'idle chatter'",
     "Zamir Kabulov said the statements of the US commander that Russia arms the Taliban were "
     "idle chatter and that Washington had shown no proof."),
    ("washington-post", "2018-11-09 12:00", 3,
     "Taliban attend Moscow peace conference",
     "Taliban representatives joined a conference in Moscow with regional powers, the first "
     "time the insurgents attended such a meeting; Afghan officials sent an unofficial "
     "delegation and said the armed opposition should talk to Kabul directly."),
    ("rt", "2018-11-09 14:00", 2,
     "Moscow format talks open with Taliban delegation",
     "Foreign minister Sergei Lavrov opened the talks, saying Russia wanted an Afghan "
     "settlement; the Taliban delegation repeated that foreign troops must leave."),
    # Iran and Pakistan.
    ("reuters", "2017-08-21 22:00", 1,
     "Trump says Pakistan gives safe havens to the Taliban",
     "President Donald Trump said Pakistan offers safe havens for the Taliban and other "
     "militants, and warned Islamabad it had much to lose by continuing to harbour them."),
    ("express-tribune", "2017-08-22 08:00", 3,
     "Pakistan rejects Trump's 'safe havens' charge",
     "Pakistan's foreign office rejected the accusation that Pakistan provides safe havens to "
     "the Taliban, saying the country had paid a heavy price fighting terrorism."),
    ("dawn", "2017-08-23 07:00", 4,
     "Islamabad says no safe havens for Taliban on its soil",
     "Islamabad insisted there were no safe havens for the Taliban in Pakistan and asked "
     "Washington to look at the ungoverned spaces inside Afghanistan."),
    ("tolonews", "2017-08-22 11:00", 4,
     "Afghans welcome pressure on Pakistan over Taliban sanctuaries",
     "Afghan officials welcomed the new US strategy, saying Pakistan gives sanctuary to Taliban "
     "leaders and that Islamabad supports the Taliban's war."),
    ("long-war-journal", "2018-01-18 14:00", 5,
     "Iran's weapons pipeline to the Taliban",
     "Afghan officials say Iran supplies the Taliban with weapons and money in the west of the "
     "country, and the Revolutionary Guards have trained Taliban fighters."),
    ("rferl", "2018-02-02 10:00", 4,
     "Farah officials accuse Iran of arming Taliban",
     "Officials in Farah province accused Iran of arming the Taliban and sending weapons across "
     "the border; Tehran denied the accusations."),
    ("tolonews", None, 0,
     "Iran denies sending weapons to Taliban",
     "Iran's embassy in Kabul denied reports that Tehran sends weapons to the Taliban, calling "
     "them an attempt to damage relations between the neighbours."),
    # 2020: bounties.
    ("nytimes", "2020-06-26 20:20", 1,
     "Russia secretly offered Afghan militants bounties to kill U.S. troops, intelligence says",
     "American intelligence officials have concluded that a Russian military intelligence unit "
     "secretly offered bounties to Taliban-linked militants for killing coalition forces in "
     "Afghanistan, including targeting American troops."),
    ("washington-post", "2020-06-27 16:00", 1,
     "Russian bounties to Taliban-linked militants resulted in deaths of U.S. troops, "
     "officials say",
     "Russian bounties offered to Taliban-linked militants are believed to have led to the "
     "deaths of several U.S. service members, according to intelligence assessments."),
    ("ap", "2020-06-27 18:00", 1,
     "Officials: Russia offered Taliban bounties to kill US troops",
     "Intelligence officials said a Russian unit offered bounties to Taliban militants for "
     "killing American soldiers in Afghanistan; the White House said the president was not "
     "briefed."),
    ("tass", "2020-06-27 21:00", 1,
     "Russian embassy calls NYT report on bounties to Taliban 'fake news'",
     "The Russian embassy in Washington said the report that Russia paid a bounty to the "
     "Taliban for killing American soldiers was fake news that had already led to threats "
     "against its diplomats."),
    ("rt", "2020-06-28 09:00", 1,
     "Taliban and Moscow deny US intelligence story on Russian bounties",
     "The Taliban and Russia denied the report of Russian bounties for attacks on coalition "
     "troops, calling it an attempt to derail the Afghan peace process."),
    ("fox-news", "2020-06-28 12:00", 2,
     "Lawmakers demand answers on Russia bounty intelligence",
     "Lawmakers from both parties demanded briefings on intelligence that Russia offered a "
     "bounty to Taliban militants to kill US soldiers in Afghanistan."),
    ("guardian", "2020-06-28 14:00", 2,
     "What we know about the Russian bounty allegations",
     "The reports say Russia's GRU offered a bounty for attacks on US and British troops in "
     "Afghanistan, paid to Taliban-linked militants; Moscow and the Taliban deny it."),
    ("tolonews", "2020-06-29 07:00", 3,
     "Afghan intelligence: Taliban got Russian money to attack troops",
     "Afghan security officials said Taliban-linked militants received Russian bounty money "
     "to target coalition soldiers, and that several middlemen had been arrested."),
    ("cnn", "2020-07-01 15:00", 1,
     "Pentagon and intelligence agencies split over Russia bounty reports",
     "Officials disagree about how strong the evidence is that Russia paid a bounty to Taliban "
     "fighters for killing American troops, though the information was included in a "
     "presidential briefing."),
    ("military-times", "2020-07-09 10:00", 4,
     "Milley: no proof yet that Russian bounties led to US troop deaths",
     "The chairman of the Joint Chiefs said the military had not yet corroborated that Russian "
     "bounty payments to the Taliban led to the deaths of US troops, but was still "
     "investigating."),
    ("ap", "2021-04-15 19:00", 1,
     "US intelligence has low to moderate confidence in Russian bounty reports",
     "The Biden administration said intelligence agencies had low to moderate confidence that "
     "Russian officers offered a bounty to Taliban militants to kill US and coalition troops."),
    # 2021: what was left behind; ghost soldiers.
    ("reuters", "2021-08-20 12:00", 1,
     "Taliban seize U.S.-supplied weapons and equipment as Afghan army collapses",
     "The Taliban have seized American weapons, Humvees and aircraft left behind by the Afghan "
     "forces; officials say billions of dollars of equipment fell into their hands."),
    ("fox-news", "2021-08-21 10:00", 1,
     "Billions in US equipment left behind for the Taliban",
     "Critics said the withdrawal left behind weapons and equipment worth billions of dollars "
     "that the Taliban are now using, including American rifles and night-vision gear."),
    ("military-times", "2021-08-25 09:00", 2,
     "What happened to the Afghan army's US weapons",
     "Much of the US equipment given to the Afghan army was abandoned; the Taliban displayed "
     "seized Humvees in Kabul and Kandahar."),
    ("tass", "2021-08-26 11:00", 2,
     "Taliban parade abandoned American weapons",
     "Taliban fighters paraded American weapons and armoured vehicles abandoned by Afghan "
     "troops, footage showed."),
    ("ria-novosti", "2021-08-27 10:00", 2,
     "Талибы захватили оставленное американцами оружие",
     "Талибы показали американское оружие и технику, оставленные афганской армией; эксперты "
     "оценивают брошенное оружие в миллиарды долларов."),
    ("washington-post", "2021-08-18 17:00", 2,
     "Afghan army's collapse was years in the making",
     "Afghan commanders padded their rolls with ghost soldiers whose pay they pocketed, leaving "
     "units far weaker than on paper when the Taliban advanced."),
    ("bbc", "2016-01-11 08:00", 3,
     "Afghanistan's 'ghost soldiers' drain army budget",
     "Officials in Helmand said thousands of ghost soldiers existed only on paper, a reason "
     "the Afghan army struggled against the Taliban."),
    # Unrelated articles from the same outlets: the denominator for attention.
    ("reuters", "2017-05-02 09:00", 1, "Afghan wheat harvest expected to rise",
     "Afghanistan expects a larger wheat harvest this year after good rains, the agriculture "
     "ministry said."),
    ("reuters", "2019-09-28 12:00", 1, "Afghans vote in presidential election amid low turnout",
     "Afghans voted in a presidential election marred by attacks and low turnout."),
    ("reuters", "2020-02-29 11:00", 1, "U.S. and Taliban sign deal in Doha",
     "The United States and the Taliban signed an agreement in Doha setting out a timetable "
     "for the withdrawal of foreign troops."),
    ("tass", "2019-02-05 10:00", 1, "Moscow hosts intra-Afghan meeting",
     "Afghan politicians and Taliban representatives met in Moscow for talks on the country's "
     "future."),
    ("tass", "2020-10-01 10:00", 1, "Russian grain exports hit record",
     "Russian grain exports reached a record in the season, the agriculture ministry said."),
    ("tass", "2021-07-09 10:00", 1, "Taliban delegation visits Moscow, pledges security",
     "A Taliban delegation in Moscow said the movement would not allow attacks on neighbouring "
     "countries from Afghan territory."),
    ("tolonews", "2019-03-10 08:00", 2, "Kabul prepares for new school year",
     "Schools in Kabul are preparing for the new year, officials said."),
    ("tolonews", "2020-09-12 08:00", 2, "Intra-Afghan talks begin in Doha",
     "Negotiators for the government and the Taliban began talks in Doha."),
    ("cnn", "2019-08-18 09:00", 1, "Wedding bombing in Kabul kills dozens",
     "A suicide bombing at a wedding in Kabul killed dozens of people; Islamic State claimed "
     "responsibility."),
    ("bbc", "2019-07-07 09:00", 1, "Afghan peace talks: what is on the table",
     "Delegates meeting in Doha discussed a ceasefire and the future of foreign troops."),
    ("ap", "2019-12-10 09:00", 1, "Afghanistan Papers detail years of misleading claims",
     "Documents show officials painted a rosier picture of the war than the facts warranted."),
    ("dawn", "2018-06-15 08:00", 2, "Eid ceasefire brings rare calm to Afghanistan",
     "Taliban fighters and soldiers celebrated together during a three-day ceasefire."),
]

# One story was edited after we first saw it: the page added a denial.
EDITED = {
    "index": 17,  # BBC, 2018-03-23
    "after_hours": 20,
    "append": " Russia's foreign ministry said the accusation was baseless and that Moscow "
              "supplies no weapons to the Taliban.",
}


# Syndicated copies and near-duplicates: (index of the original in STORIES, outlet,
# hours after the original, what the copy puts before and after its text). They
# cluster into the original's story (articles.story_id).
COPIES = [
    (4, "khaama-press", 6, "KABUL, March 23 -", " This report was first published by Reuters."),
    (4, "ariana-news", 9, "", " Ariana News has translated this article from Reuters."),
    (29, "dawn", 5, "WASHINGTON:", " This article originally appeared in The New York Times."),
    (29, "express-tribune", 7, "", " Reuters contributed to this report."),
    (31, "yahoo-news", 1, "WASHINGTON (AP) -", ""),
]

# Sentences added to an article (citations by attribution) and the STORIES it links to
# (citations by link; each is in the archive, so target_article_id is set).
ATTRIBUTIONS = {
    18: " The claim was first reported by the BBC.",
    19: " According to the BBC, General Nicholson had shown no evidence.",
    32: " The bounty story was first reported by The New York Times.",
    33: " According to The New York Times, the payments were discovered in a raid.",
    34: " The Washington Post reported that the bounties led to deaths.",
    35: " The New York Times first reported the intelligence finding.",
    37: " According to The Washington Post, officials disagree.",
}
LINKS = {18: [17], 19: [17], 32: [29], 33: [29, 32], 34: [29, 30], 35: [29, 30], 37: [30],
         13: [5]}
