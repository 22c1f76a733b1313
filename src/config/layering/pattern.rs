//! A small regular-expression matcher for JSON Schema `pattern`/`patternProperties` (no crate).
//!
//! Supported: literals, `.`, `^`, `$`, groups `( )` and `(?: )`, alternation `|`, quantifiers
//! `* + ? {n} {n,} {n,m}` (a trailing lazy `?` is accepted and irrelevant for yes/no matching),
//! bracket classes with ranges and negation, and the escapes `\d \D \w \W \s \S \n \r \t \f \v`
//! plus escaped punctuation. Anything else (look-around, back-references, `\b`, `\p{..}`, flags)
//! makes [`Pattern::new`] return `None`; callers then skip the check instead of guessing.
//!
//! Matching follows JSON Schema: the pattern is searched for anywhere in the text (it is not
//! implicitly anchored). It runs as a Thompson-NFA simulation, so it is linear in the text.

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    program: Vec<Inst>,
}

impl Pattern {
    /// Compiles `source`, or returns `None` if it uses syntax outside the supported subset.
    pub fn new(source: &str) -> Option<Pattern> {
        let mut parser = Parser {
            chars: source.chars().collect(),
            pos: 0,
        };
        let ast = parser.parse_alternation()?;
        if parser.pos != parser.chars.len() {
            return None;
        }
        let mut program = Vec::new();
        compile(&ast, &mut program)?;
        program.push(Inst::Match);
        Some(Pattern { program })
    }

    /// True if the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let mut marks = vec![usize::MAX; self.program.len()];
        let mut current: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        for pos in 0..=chars.len() {
            // Unanchored search: a fresh thread starts at every position.
            if self.add_thread(&mut current, &mut marks, 0, pos, chars.len()) {
                return true;
            }
            let Some(&c) = chars.get(pos) else {
                break;
            };
            next.clear();
            for &pc in &current {
                let advances = match &self.program[pc] {
                    Inst::Char(set) => set.matches(c),
                    Inst::AnyButNewline => c != '\n',
                    _ => false,
                };
                if advances && self.add_thread(&mut next, &mut marks, pc + 1, pos + 1, chars.len())
                {
                    return true;
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Follows the empty transitions from `start` at text position `pos`, queueing the
    /// character-consuming instructions it reaches. Returns true if `Match` is reachable.
    fn add_thread(
        &self,
        list: &mut Vec<usize>,
        marks: &mut [usize],
        start: usize,
        pos: usize,
        len: usize,
    ) -> bool {
        let mut stack = vec![start];
        while let Some(pc) = stack.pop() {
            if marks[pc] == pos {
                continue;
            }
            marks[pc] = pos;
            match &self.program[pc] {
                Inst::Match => return true,
                Inst::Jump(to) => stack.push(*to),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::AssertStart => {
                    if pos == 0 {
                        stack.push(pc + 1);
                    }
                }
                Inst::AssertEnd => {
                    if pos == len {
                        stack.push(pc + 1);
                    }
                }
                Inst::Char(_) | Inst::AnyButNewline => list.push(pc),
            }
        }
        false
    }
}

#[derive(Debug, Clone)]
enum Inst {
    Char(CharSet),
    AnyButNewline,
    AssertStart,
    AssertEnd,
    Split(usize, usize),
    Jump(usize),
    Match,
}

#[derive(Debug, Clone, PartialEq)]
struct CharSet {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl CharSet {
    fn single(c: char) -> CharSet {
        CharSet {
            ranges: vec![(c, c)],
            negated: false,
        }
    }

    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

#[derive(Debug, Clone)]
enum Ast {
    Empty,
    Char(CharSet),
    AnyButNewline,
    Start,
    End,
    Concat(Vec<Ast>),
    Alternation(Vec<Ast>),
    Repeat {
        inner: Box<Ast>,
        min: u32,
        max: Option<u32>,
    },
}

/// Upper bound for `{n,m}` counts, to keep compiled programs small.
const MAX_REPEAT: u32 = 1000;

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn parse_alternation(&mut self) -> Option<Ast> {
        let mut branches = vec![self.parse_concat()?];
        while self.eat('|') {
            branches.push(self.parse_concat()?);
        }
        Some(if branches.len() == 1 {
            branches.pop().unwrap_or(Ast::Empty)
        } else {
            Ast::Alternation(branches)
        })
    }

    fn parse_concat(&mut self) -> Option<Ast> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            items.push(self.parse_repeat()?);
        }
        Some(match items.len() {
            0 => Ast::Empty,
            1 => items.pop().unwrap_or(Ast::Empty),
            _ => Ast::Concat(items),
        })
    }

    fn parse_repeat(&mut self) -> Option<Ast> {
        let mut atom = self.parse_atom()?;
        let mut quantified = false;
        loop {
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.pos += 1;
                    (0, None)
                }
                Some('+') => {
                    self.pos += 1;
                    (1, None)
                }
                Some('?') => {
                    self.pos += 1;
                    (0, Some(1))
                }
                Some('{') => match self.try_counted()? {
                    Some(bounds) => bounds,
                    None => break,
                },
                _ => break,
            };
            if quantified {
                // `a**` and friends: rejected, as Go's regexp and ECMAScript do.
                return None;
            }
            quantified = true;
            self.eat('?'); // lazy marker: irrelevant for a yes/no answer
            atom = Ast::Repeat {
                inner: Box::new(atom),
                min,
                max,
            };
        }
        Some(atom)
    }

    /// At a `{`: parses `{n}`, `{n,}` or `{n,m}`. `Some(None)` means the brace is a literal;
    /// `None` means the counts are out of range.
    fn try_counted(&mut self) -> Option<Option<(u32, Option<u32>)>> {
        let start = self.pos;
        self.pos += 1;
        let min = self.digits();
        let result = match min {
            None => None,
            Some(min) => {
                if self.eat('}') {
                    Some((min, Some(min)))
                } else if self.eat(',') {
                    let max = self.digits();
                    if self.eat('}') {
                        Some((min, max))
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
        };
        match result {
            None => {
                self.pos = start;
                Some(None)
            }
            Some((min, max)) => {
                if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                    return None;
                }
                Some(Some((min, max)))
            }
        }
    }

    fn digits(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        // Absurdly large counts saturate and are then rejected by the MAX_REPEAT check.
        Some(text.parse().unwrap_or(u32::MAX))
    }

    fn parse_atom(&mut self) -> Option<Ast> {
        let c = self.bump()?;
        Some(match c {
            '(' => {
                if self.eat('?') && !self.eat(':') {
                    return None; // look-around, named groups, flags
                }
                let inner = self.parse_alternation()?;
                if !self.eat(')') {
                    return None;
                }
                inner
            }
            '[' => Ast::Char(self.parse_class()?),
            '.' => Ast::AnyButNewline,
            '^' => Ast::Start,
            '$' => Ast::End,
            '\\' => self.parse_escape()?,
            '*' | '+' | '?' => return None, // nothing to repeat
            '{' => {
                self.pos -= 1;
                if self.try_counted()?.is_some() {
                    return None; // a counted repetition of nothing
                }
                self.pos += 1;
                Ast::Char(CharSet::single('{'))
            }
            other => Ast::Char(CharSet::single(other)),
        })
    }

    fn parse_escape(&mut self) -> Option<Ast> {
        let c = self.bump()?;
        match c {
            'A' => Some(Ast::Start),
            'z' => Some(Ast::End),
            _ => {
                let set = escape_class(c)?;
                Some(Ast::Char(set))
            }
        }
    }

    fn parse_class(&mut self) -> Option<CharSet> {
        let negated = self.eat('^');
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.bump()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            if c == '[' && self.peek() == Some(':') {
                return None; // POSIX classes are not supported
            }
            let lo = if c == '\\' {
                let e = self.bump()?;
                let set = escape_class(e)?;
                if set.negated || set.ranges.len() != 1 || set.ranges[0].0 != set.ranges[0].1 {
                    // \d, \w, \s and their negations: add the whole set, no range possible.
                    ranges.extend(if set.negated {
                        complement(&set.ranges)
                    } else {
                        set.ranges
                    });
                    continue;
                }
                set.ranges[0].0
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let h = self.bump()?;
                let hi = if h == '\\' {
                    let e = self.bump()?;
                    let set = escape_class(e)?;
                    if set.negated || set.ranges.len() != 1 || set.ranges[0].0 != set.ranges[0].1 {
                        return None;
                    }
                    set.ranges[0].0
                } else {
                    h
                };
                if hi < lo {
                    return None;
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Some(CharSet { ranges, negated })
    }
}

/// The character set denoted by `\c`, or `None` for unsupported escapes.
fn escape_class(c: char) -> Option<CharSet> {
    let digits = vec![('0', '9')];
    let word = vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    let space = vec![
        ('\t', '\n'),
        ('\u{b}', '\u{b}'),
        ('\u{c}', '\r'),
        (' ', ' '),
    ];
    let set = |ranges: Vec<(char, char)>, negated: bool| CharSet { ranges, negated };
    Some(match c {
        'd' => set(digits, false),
        'D' => set(digits, true),
        'w' => set(word, false),
        'W' => set(word, true),
        's' => set(space, false),
        'S' => set(space, true),
        'n' => CharSet::single('\n'),
        'r' => CharSet::single('\r'),
        't' => CharSet::single('\t'),
        'f' => CharSet::single('\u{c}'),
        'v' => CharSet::single('\u{b}'),
        c if c.is_ascii_punctuation() || c == ' ' => CharSet::single(c),
        _ => return None,
    })
}

/// The complement of a set of sorted, non-overlapping ranges (used for `\D`/`\W`/`\S` in classes).
fn complement(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::new();
    let mut next = Some('\0');
    for (lo, hi) in sorted {
        if let Some(from) = next {
            if from < lo {
                if let Some(to) = char_before(lo) {
                    out.push((from, to));
                }
            }
        }
        next = char_after(hi);
    }
    if let Some(from) = next {
        out.push((from, char::MAX));
    }
    out
}

fn char_before(c: char) -> Option<char> {
    match c {
        '\0' => None,
        '\u{E000}' => Some('\u{D7FF}'),
        _ => char::from_u32(c as u32 - 1),
    }
}

fn char_after(c: char) -> Option<char> {
    match c {
        char::MAX => None,
        '\u{D7FF}' => Some('\u{E000}'),
        _ => char::from_u32(c as u32 + 1),
    }
}

fn compile(ast: &Ast, program: &mut Vec<Inst>) -> Option<()> {
    match ast {
        Ast::Empty => {}
        Ast::Char(set) => program.push(Inst::Char(set.clone())),
        Ast::AnyButNewline => program.push(Inst::AnyButNewline),
        Ast::Start => program.push(Inst::AssertStart),
        Ast::End => program.push(Inst::AssertEnd),
        Ast::Concat(items) => {
            for item in items {
                compile(item, program)?;
            }
        }
        Ast::Alternation(branches) => {
            let mut exits = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if i + 1 == branches.len() {
                    compile(branch, program)?;
                } else {
                    let split = program.len();
                    program.push(Inst::Split(split + 1, 0));
                    compile(branch, program)?;
                    exits.push(program.len());
                    program.push(Inst::Jump(0));
                    let after = program.len();
                    program[split] = Inst::Split(split + 1, after);
                }
            }
            let end = program.len();
            for exit in exits {
                program[exit] = Inst::Jump(end);
            }
        }
        Ast::Repeat { inner, min, max } => {
            for _ in 0..*min {
                compile(inner, program)?;
            }
            match max {
                None => {
                    let split = program.len();
                    program.push(Inst::Split(split + 1, 0));
                    compile(inner, program)?;
                    program.push(Inst::Jump(split));
                    let after = program.len();
                    program[split] = Inst::Split(split + 1, after);
                }
                Some(max) => {
                    for _ in *min..*max {
                        let split = program.len();
                        program.push(Inst::Split(split + 1, 0));
                        compile(inner, program)?;
                        let after = program.len();
                        program[split] = Inst::Split(split + 1, after);
                    }
                }
            }
            if program.len() > 100_000 {
                return None;
            }
        }
    }
    Some(())
}
