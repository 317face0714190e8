/**
 * Does a file name look like it names a person (`jane-smith-year6.jpg`)? A heuristic, and its
 * limits are real: it knows the given names below (common in UK schools) and nothing else, so an
 * unusual name, a surname alone or a nickname is missed; and a name that is also a word ("rose",
 * "summer") counts only when a name-like word follows it ("holly-wreath" is a false alarm).
 */

/** Common given names that are not also everyday words. */
const GIVEN_NAMES = new Set(`
aaliyah aaron abdul abigail abdullah adam aden adrian ahmed aisha aiden alan albert alex alexander alexandra
alfie alice alicia amber amelia amelie amir amy ana anna annabelle andrew aneesa anthony archie aria arlo
arthur aryan ava ayesha bella ben benjamin beth bethany billy blake bobby caleb callum cameron charles
charlie charlotte chloe christopher clara connor daisy daniel danny darcy david dylan edward eleanor elijah
eliza elizabeth ella ellie elliot elsie emily emma erin ethan eva evelyn evie ezra fatima felix finlay finley
florence freddie frederick freya gabriel george georgia grayson hamza hannah harley harper harriet harrison
harry harvey hassan hayden henry hugo ibrahim imogen isaac isabel isabella isabelle isla ismail ivan jack
jacob jake james jamie jane jasmine jayden jessica joe joel john jonathan joseph joshua jude julia kai
katie kayla keira kian leah leo leon lewis liam lily lilly lola louie louis lucas lucy luke luna maddison
madison maisie maryam maria mariam mason matilda matthew maya megan mia michael millie mohammed mohammad
muhammad molly nathan niamh noah nora oliver olivia oscar owen phoebe poppy priya rachel reuben riley
robert rosie ruby ryan sam samuel sara sarah scarlett sebastian sienna sofia sophia sophie stanley
stella theo theodore thomas tommy toby tyler victoria william willow yusuf zac zachary zara zoe
`.trim().split(/\s+/));

/** Given names that are also ordinary words: they count only beside another name-like word. */
const WORD_NAMES = new Set('rose grace summer may june april holly ivy hope faith joy autumn violet daisy ruby jasper jade amber sky will mark bill ray dawn eve'.split(' '));

/** Words common in school photo names that never make the next word a surname. */
const COMMON_WORDS = new Set(`
img image photo pic picture dsc dscn dcim pxl screenshot scan copy edit final new old web small large thumb
year class form group team school day trip sports sport fair assembly concert play party visit week term
event events gallery garden playground hall library classroom nursery reception infant junior primary
secondary academy college science art music drama maths english history club choir football netball
cricket rugby swimming residential christmas easter summer spring autumn winter harvest nativity
logo banner header hero background icon staff pupil pupils student students children kids parents
and the with at in on of for to from our my a an by
`.trim().split(/\s+/));

/** Class or year markers: `year6`, `y6`, `yr6`, `class3`, `form2b`. */
const CLASS_TOKEN = /^(year|yr|y|class|form|p|reception)\d{0,2}[a-z]?$/;

/** The words of a file name, with the CMS's additions (`-300x200`, `-scaled`, `-1`) taken off. */
export function nameWords(fileName: string): string[] {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const stem = base
    .replace(/\.[^.]*$/, '')
    .replace(/-(\d+x\d+|scaled|rotated|e\d{10,})$/i, '')
    .replace(/-(\d+x\d+|scaled|rotated)$/i, '');
  return stem
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Why `fileName` looks like a person's name ("given name "jane" followed by "smith""), or null. */
export function personNameReason(fileName: string): string | null {
  const words = nameWords(fileName);
  for (const [i, word] of words.entries()) {
    const next = words[i + 1];
    const surnameNext = next !== undefined && /^[a-z]{2,}$/.test(next) && !COMMON_WORDS.has(next) && !CLASS_TOKEN.test(next);
    if (GIVEN_NAMES.has(word)) {
      return surnameNext ? `given name "${word}" followed by "${next}"` : `given name "${word}"`;
    }
    if (WORD_NAMES.has(word) && surnameNext) return `given name "${word}" followed by "${next}"`;
  }
  return null;
}
