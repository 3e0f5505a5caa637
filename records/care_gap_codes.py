"""The codes that count as having each piece of preventive care done, one frozenset per code system.

Real codes only, and when in doubt a code was left out: a missing code makes a reminder show that should not, a wrong
one hides a reminder that should show. The lab and imaging sets follow the value sets of the CMS quality measures
(colorectal CMS130, breast CMS125, cervical CMS124, childhood immunizations CMS117); the vaccines are CDC CVX codes,
combination vaccines listed under each of their parts. tests/records/test_care_gaps.py checks every code's form and
check digit.
"""

from __future__ import annotations

from collections.abc import Mapping

# The same system URLs as records.projections (repeated so that the care gaps stay free of Django).
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
CPT = "http://www.ama-assn.org/go/cpt"

CodeSets = Mapping[str, frozenset[str]]

# fmt: off
FLU_CODES: CodeSets = {
    CVX: frozenset(
        {
            "15", "16", "88", "111", "135", "140", "141", "144", "149", "150", "151", "153", "155", "158", "161",
            "166", "168", "171", "185", "186", "194", "197", "200", "201", "202", "205", "231", "320", "331", "333",
        }
    ),  # seasonal influenza; the pandemic and avian vaccines (H1N1, H5) are not the seasonal one
    SNOMED: frozenset({"86198006"}),  # administration of influenza vaccine
    CPT: frozenset(
        {
            "90630", "90653", "90654", "90655", "90656", "90657", "90658", "90661", "90662", "90673", "90674",
            "90682", "90685", "90686", "90687", "90688", "90689", "90694", "90756",
        }
    ),
}

BLOOD_PRESSURE_CODES: CodeSets = {
    LOINC: frozenset({"85354-9", "55284-4", "35094-2", "8480-6", "8462-4"}),
}

COLONOSCOPY_CODES: CodeSets = {
    SNOMED: frozenset(
        {
            "73761001", "8180007", "12350003", "25732003", "34264006", "174158000", "235150006", "235151005",
            "310634005", "367535003", "443998000", "444783004", "446521004", "446745002", "447021001",
            "709421007", "710293001", "711307001",
        }
    ),
    CPT: frozenset(
        {"44388", "44389", "44390", "44391", "44392", "44393", "44394", "44397"}
        | {str(code) for code in range(44401, 44409)}
        | {"45355", "45398"}
        | {str(code) for code in range(45378, 45394)}
    ),
}

FLEXIBLE_SIGMOIDOSCOPY_CODES: CodeSets = {
    SNOMED: frozenset({"44441009", "396226005", "425634007"}),
    CPT: frozenset(
        {
            "45330", "45331", "45332", "45333", "45334", "45335", "45337", "45338", "45339", "45340", "45341",
            "45342", "45345", "45346", "45347", "45349", "45350",
        }
    ),
}

CT_COLONOGRAPHY_CODES: CodeSets = {
    SNOMED: frozenset({"418714002"}),
    LOINC: frozenset({"60515-4", "72531-7", "79069-1", "79071-7", "79101-2", "82688-3"}),
    CPT: frozenset({"74261", "74262", "74263"}),
}

STOOL_BLOOD_TEST_CODES: CodeSets = {  # FIT and guaiac FOBT
    LOINC: frozenset(
        {
            "2335-8", "12503-9", "12504-7", "14563-1", "14564-9", "14565-6", "27396-1", "27401-9", "27925-7",
            "27926-5", "29771-3", "56490-6", "56491-4", "57905-2", "58453-2", "80372-6",
        }
    ),
    SNOMED: frozenset({"104435004"}),  # screening for occult blood in feces
    CPT: frozenset({"82270", "82274"}),
}

STOOL_DNA_CODES: CodeSets = {  # multitarget stool DNA with FIT (Cologuard)
    LOINC: frozenset({"77353-1", "77354-9"}),
    CPT: frozenset({"81528"}),
}

MAMMOGRAPHY_CODES: CodeSets = {
    SNOMED: frozenset(
        {
            "71651007", "24623002", "43204002", "241055006", "450566007", "384151000119104", "392521000119107",
            "392531000119105",
        }
    ),
    LOINC: frozenset(
        {
            "24604-1", "24605-8", "24606-6", "24610-8", "26175-0", "26176-8", "26177-6", "26287-3", "26289-9",
            "26291-5", "26346-7", "26347-5", "26348-3", "26349-1", "26350-9", "26351-7", "36319-2", "36625-2",
            "36626-0", "36627-8", "37774-7", "39152-4", "39153-2", "39154-0", "42168-5", "42169-3", "42174-3",
            "46339-8", "46350-5", "46354-7", "46355-4", "46356-2", "48475-8", "48492-3", "72137-3", "72138-1",
            "72139-9", "72140-7", "72141-5", "72142-3", "86462-9", "86463-7",
        }
    ),
    CPT: frozenset({"77061", "77062", "77063", "77065", "77066", "77067"}),
}

PAP_TEST_CODES: CodeSets = {  # cervical cytology
    LOINC: frozenset(
        {
            "10524-7", "18500-9", "19762-4", "19764-0", "19765-7", "19766-5", "19774-9", "33717-0", "47527-7",
            "47528-5",
        }
    ),
    SNOMED: frozenset({"171149006", "90226004"}),  # cervical screening; cytology smear, genital source
    CPT: frozenset(
        {
            "88141", "88142", "88143", "88147", "88148", "88150", "88152", "88153", "88164", "88165", "88166",
            "88167", "88174", "88175",
        }
    ),
}

HPV_TEST_CODES: CodeSets = {  # high-risk HPV on a cervical sample
    LOINC: frozenset(
        {
            "21440-3", "30167-1", "38372-9", "59263-4", "59264-2", "59420-0", "69002-4", "71431-1", "75694-0",
            "77379-6", "77399-4", "77400-0", "82354-2", "82456-5", "82675-0", "95539-3", "104132-6", "104170-6",
        }
    ),
    CPT: frozenset({"87624", "87625"}),
}

CHOLESTEROL_CODES: CodeSets = {
    LOINC: frozenset({"57698-3", "24331-1", "2093-3", "2085-9", "13457-7", "18262-6", "2089-1"}),
    CPT: frozenset({"80061", "82465"}),
}

TD_CODES: CodeSets = {CVX: frozenset({"09", "113", "115", "138", "139", "196"})}
TDAP_CODES: CodeSets = {CVX: frozenset({"115"})}
RECOMBINANT_ZOSTER_CODES: CodeSets = {CVX: frozenset({"187"})}
ADULT_PNEUMOCOCCAL_CODES: CodeSets = {CVX: frozenset({"33", "109", "133", "152", "215", "216", "327"})}
HPV_VACCINE_CODES: CodeSets = {CVX: frozenset({"62", "118", "137", "165"})}
HEPATITIS_B_CODES: CodeSets = {
    CVX: frozenset(
        {"08", "42", "43", "44", "45", "51", "102", "104", "110", "132", "146", "189", "193", "198", "220"}
    )
}
DTAP_CODES: CodeSets = {
    CVX: frozenset({"01", "20", "22", "50", "102", "106", "107", "110", "120", "130", "132", "146", "170", "198"})
}
POLIO_CODES: CodeSets = {CVX: frozenset({"02", "10", "89", "110", "120", "130", "132", "146", "170", "195"})}
MMR_CODES: CodeSets = {CVX: frozenset({"03", "94"})}
VARICELLA_CODES: CodeSets = {CVX: frozenset({"21", "94"})}
HIB_CODES: CodeSets = {
    CVX: frozenset(
        {"17", "22", "46", "47", "48", "49", "50", "51", "102", "120", "132", "146", "148", "170", "198"}
    )
}
HIB_PRP_OMP_CODES: CodeSets = {CVX: frozenset({"49", "51"})}
CHILD_PNEUMOCOCCAL_CODES: CodeSets = {CVX: frozenset({"100", "109", "133", "152", "215", "216"})}
HEPATITIS_A_CODES: CodeSets = {CVX: frozenset({"31", "52", "83", "84", "85", "104", "193"})}
MENACWY_CODES: CodeSets = {CVX: frozenset({"108", "114", "136", "147", "203", "316", "328"})}
# fmt: on
